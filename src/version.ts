declare const __ANKRA_VERSION__: string;

/** The package version, fixed at build time by esbuild's `define`. */
export const VERSION: string = typeof __ANKRA_VERSION__ === 'string' ? __ANKRA_VERSION__ : '0.0.0-dev';
export const USER_AGENT = `ankra/${VERSION}`;
