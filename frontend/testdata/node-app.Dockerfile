# syntax=docker/dockerfile:1.7
ARG NODE_VERSION=20

FROM node:${NODE_VERSION} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev

FROM deps AS build
COPY --link . .
RUN npm run build \
  # tests run in CI, not here
  && npm prune --omit=dev

FROM node:${NODE_VERSION} AS runtime
ENV NODE_ENV=production PORT=3000
WORKDIR /app
COPY --from=build --chown=node:node /app/dist ./dist
COPY --from=deps /app/node_modules ./node_modules
USER node
EXPOSE $PORT
HEALTHCHECK --interval=30s --timeout=3s CMD ["node", "dist/health.js"]
CMD ["node", "dist/server.js"]
