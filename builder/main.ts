// Placeholder entry until the CLI lands.
console.log('tsbuild 0.1.0');
