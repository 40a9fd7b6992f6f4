import type { Digest, ImageConfig, Platform } from '../../registry/oci/index.js';

/** What the caller resolves for the compiler: an image reference on a platform → its digest and config. */
export type ResolveImage = (ref: string, platform: Platform) => Promise<{ ref: string; digest: Digest; config: ImageConfig }>;

/** Inputs of `compile`. */
export interface CompileOptions {
  file?: string;
  /** `--build-arg` values; they override ARG defaults. */
  buildArgs?: Record<string, string>;
  /** `--target`: the stage to build (by name); the last stage when absent. */
  target?: string;
  /** The platform to build for (TARGETPLATFORM). */
  platform: Platform;
  /** The platform the build runs on (BUILDPLATFORM). */
  buildPlatform: Platform;
  /** Called only for images the target actually needs: FROM, COPY --from=<image>, RUN --mount from=<image>. */
  resolveImage: ResolveImage;
  /**
   * `--build-context NAME=…` names, by kind (BuildKit's named contexts). A name that matches a stage replaces that
   * stage wholly (its instructions are not run); otherwise it replaces the image of that name in FROM, COPY --from and
   * RUN --mount from=. An `image` one is resolved through `resolveImage(NAME)` (the caller maps the name); `scratch`
   * (docker-image://scratch) is an empty filesystem; a `local` one is a directory read like the build context:
   * COPY --from=NAME and RUN --mount=from=NAME read it, and as a stage's (or `FROM NAME`'s) filesystem it is copied
   * onto scratch. A replaced stage that is a directory or scratch has an empty config, as in BuildKit.
   */
  namedContexts?: Record<string, 'image' | 'local' | 'scratch'>;
}
