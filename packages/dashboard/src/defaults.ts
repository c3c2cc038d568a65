/** The port `orthoquant dashboard` uses when none is given. */
export const DEFAULT_PORT = 4173;
