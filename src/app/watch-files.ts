/**
 * Notices when files change (tokens file, TLS certificates) by polling their stat: fs.watch
 * misses the rename-into-place that certificate tools and config managers use, stat polling
 * does not. One callback per change of any of the files.
 */
import { unwatchFile, watchFile } from "node:fs";

/** Calls `onChange` after any of `paths` changes (mtime, size or inode); returns a stop function. */
export function watchFiles(paths: readonly string[], intervalMs: number, onChange: () => void): () => void {
  const listener = (current: { mtimeMs: number; ino: number; size: number }, previous: typeof current) => {
    if (
      current.mtimeMs !== previous.mtimeMs ||
      current.ino !== previous.ino ||
      current.size !== previous.size
    )
      onChange();
  };
  for (const path of paths) watchFile(path, { interval: intervalMs, persistent: false }, listener);
  return () => {
    for (const path of paths) unwatchFile(path, listener);
  };
}
