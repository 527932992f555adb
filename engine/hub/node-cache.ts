// The Hugging Face cache on disk, in huggingface_hub's own layout (file_download.py), so a model
// downloaded by Python opens here with no request and one downloaded here opens in Python:
//
//   {cache}/CACHEDIR.TAG
//   {cache}/models--{org}--{name}/
//     refs/{revision}                 the commit hash a branch or tag pointed at (no newline)
//     blobs/{etag}                    file contents, named by sha256 (LFS) or git blob sha1
//     blobs/{etag}.incomplete         a download in progress, resumed with an HTTP Range
//     snapshots/{commit}/{file}       relative symlinks: ../../blobs/{etag}
//     .no_exist/{commit}/{file}       empty: the Hub said this file is not in this commit
//     trees/{commit}.json             (written by newer snapshot_download) every file of the commit
//
// Node-only.
import { constants } from 'node:fs';
import { access, copyFile, lstat, mkdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { HubError } from './errors.ts';
import { isCommitHash } from './repo-ref.ts';

/** huggingface_hub's CACHEDIR.TAG, which tells backup tools to skip the cache. */
const CACHEDIR_TAG = 'Signature: 8a477f597d28d172789f06886806bc55\n'
  + '# This file is a cache directory tag created by huggingface_hub.\n'
  + '# For information about cache directory tags, see:\n'
  + '#\thttps://bford.info/cachedir/\n';

/** "org/name" -> "models--org--name". */
export function repoFolderName(repo: string): string {
  return ['models', ...repo.split('/')].join('--');
}

const exists = (p: string) => access(p, constants.F_OK).then(() => true, () => false);

/** A file name of the repository as a path under a snapshot: never out of it. */
function relativeFile(file: string): string {
  const parts = file.split('/');
  if (file === '' || file.startsWith('/') || /\\|^[A-Za-z]:/.test(file) || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new HubError('bad-file-name', `"${file}" is not a file name inside a repository`, { file });
  }
  return path.join(...parts);
}

/** One repository's folder in the cache. */
export class RepoCache {
  /** {cache}/models--{org}--{name} */
  readonly dir: string;

  constructor(readonly cacheDir: string, readonly repo: string) {
    this.dir = path.join(cacheDir, repoFolderName(repo));
  }

  refPath(revision: string): string { return path.join(this.dir, 'refs', ...revision.split('/')); }
  snapshotDir(commit: string): string { return path.join(this.dir, 'snapshots', commit); }
  pointerPath(commit: string, file: string): string { return path.join(this.snapshotDir(commit), relativeFile(file)); }
  blobPath(etag: string): string { return path.join(this.dir, 'blobs', etag); }
  incompletePath(etag: string): string { return `${this.blobPath(etag)}.incomplete`; }
  noExistPath(commit: string, file: string): string { return path.join(this.dir, '.no_exist', commit, relativeFile(file)); }
  treePath(commit: string): string { return path.join(this.dir, 'trees', `${commit}.json`); }

  /** The commit a branch or tag pointed at when last fetched, if the cache has it. */
  async readRef(revision: string): Promise<string | undefined> {
    try {
      const commit = (await readFile(this.refPath(revision), 'utf8')).trim();
      return isCommitHash(commit) ? commit : undefined;
    } catch { return undefined; }
  }

  /** Record where a branch or tag points (huggingface_hub: only when the revision is not the commit). */
  async writeRef(revision: string, commit: string): Promise<void> {
    if (revision === commit || (await this.readRef(revision)) === commit) return;
    const p = this.refPath(revision);
    await mkdir(path.dirname(p), { recursive: true });
    // Written beside and renamed: a reader never sees half a hash.
    const tmp = `${p}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, commit);
    await rename(tmp, p);
  }

  /**
   * The commit whose snapshot answers for `revision` without asking the Hub: the revision itself
   * when it is a commit hash, else what refs/{revision} says; only when that snapshot exists.
   */
  async localCommit(revision: string): Promise<string | undefined> {
    const commit = isCommitHash(revision) ? revision : await this.readRef(revision);
    return commit && (await exists(this.snapshotDir(commit))) ? commit : undefined;
  }

  /** The path of `file` in the commit's snapshot when it is there and readable (a link to a present blob). */
  async cachedFile(commit: string, file: string): Promise<string | undefined> {
    const p = this.pointerPath(commit, file);
    try { return (await stat(p)).isFile() ? p : undefined; } catch { return undefined; }
  }

  /** Whether the cache knows `file` is not in the commit: a .no_exist marker, or a tree listing without it. */
  async knownAbsent(commit: string, file: string): Promise<boolean> {
    if (await exists(this.noExistPath(commit, file))) return true;
    try {
      const tree = JSON.parse(await readFile(this.treePath(commit), 'utf8')) as { format_version?: unknown; files?: unknown };
      return tree.format_version === 1 && typeof tree.files === 'object' && tree.files !== null && !(file in tree.files);
    } catch { return false; }
  }

  /** Record that the Hub said `file` is not in the commit (an empty .no_exist file, as huggingface_hub does). */
  async markAbsent(commit: string, file: string): Promise<void> {
    const p = this.noExistPath(commit, file);
    await mkdir(path.dirname(p), { recursive: true });
    await writeFile(p, '');
  }

  /**
   * Point snapshots/{commit}/{file} at blobs/{etag} with a relative symlink (the cache folder can
   * move). Where symlinks are refused (Windows without the right), the blob is copied, as
   * huggingface_hub does.
   */
  async link(commit: string, file: string, etag: string): Promise<string> {
    const pointer = this.pointerPath(commit, file);
    const blob = this.blobPath(etag);
    await mkdir(path.dirname(pointer), { recursive: true });
    if (await lstat(pointer).then(() => true, () => false)) await rm(pointer, { force: true });
    try {
      await symlink(path.relative(path.dirname(pointer), blob), pointer);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
      await copyFile(blob, pointer);
    }
    return pointer;
  }

  /** Mark the cache folder for backup tools, once. */
  async tag(): Promise<void> {
    const p = path.join(this.cacheDir, 'CACHEDIR.TAG');
    if (await exists(p)) return;
    await mkdir(this.cacheDir, { recursive: true });
    await writeFile(p, CACHEDIR_TAG, { flag: 'wx' }).catch(() => {});
  }
}
