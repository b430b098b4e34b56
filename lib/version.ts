// The one version of imagesync: `imagesync version` prints it and every User-Agent carries it.
// A unit test keeps it equal to package.json's, which the bundle does not read at run time.
export const VERSION = '0.1.0';
