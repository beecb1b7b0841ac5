export declare const defaultOutDir: string;
/** Builds the page into `outDir` (default ui/dist/assets); returns the file names written. */
export declare function buildUi(outDir?: string): Promise<string[]>;
