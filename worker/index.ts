// The worker's public surface: the Linux worker (overlay snapshots, native helper), content store, layers.
export {};
