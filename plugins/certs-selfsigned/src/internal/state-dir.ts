import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Why the CA cannot be kept in `dir`, or undefined when it can: an existing directory must be readable and
 * writable (and the files in it readable); a missing one must be creatable, i.e. its nearest existing
 * ancestor is a writable directory. Checked by `trellis validate` so the controller does not die at start.
 */
export function stateDirProblem(dir: string): string | undefined {
  let st;
  try {
    st = statSync(dir);
  } catch {
    let parent = dirname(dir);
    for (;;) {
      try {
        const pst = statSync(parent);
        if (!pst.isDirectory()) return `${dir} cannot be created: ${parent} is not a directory`;
        accessSync(parent, constants.W_OK | constants.X_OK);
        return undefined;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' || dirname(parent) === parent) return `${dir} cannot be created: ${parent} is not writable (${code ?? 'error'})`;
        parent = dirname(parent);
      }
    }
  }
  if (!st.isDirectory()) return `${dir} exists and is not a directory`;
  try {
    accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (err) {
    return `${dir} is not readable and writable (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
  }
  for (const name of readdirSync(dir)) {
    const file = join(dir, name);
    try {
      if (statSync(file).isFile()) accessSync(file, constants.R_OK);
    } catch (err) {
      return `${file} is not readable (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
    }
  }
  return undefined;
}
