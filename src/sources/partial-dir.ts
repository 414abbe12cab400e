/**
 * Folder inside MediaDir for `.part` files, their resume state and tools' work folders. Hidden (leading dot), so
 * folder scans never take an unfinished download for a video.
 */
export const PARTIAL_DIR = '.partial';
