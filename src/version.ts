/** The library's version, as package.json says it (a test keeps them equal). It goes into replay tokens. */
export const VERSION = "0.1.0";
