#if canImport(Glibc)
import Glibc
#endif

/// Power-cut-safe file updates for the control plane (definition sets, the boot environment,
/// credentials): after a crash a reader sees either the old file or the new one, never a mix.
///
/// Why this order: write a temporary file in the same directory → fsync it → rename over the
/// target (atomic on POSIX) → fsync the directory so the rename itself is on disk. Without the
/// last step ext4/f2fs may forget the rename after a power cut.
public enum DurableFile {
    /// Replaces `path` with `bytes` atomically and durably, with permissions `mode`.
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws {
        let temp = path + ".tmp-\(getpid())"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw SystemError(call: "open", subject: temp) }
        do {
            try writeAll(fd, bytes, subject: temp)
            guard fsync(fd) == 0 else { throw SystemError(call: "fsync", subject: temp) }
        } catch {
            close(fd)
            unlink(temp)
            throw error
        }
        close(fd)
        guard rename(temp, path) == 0 else {
            let e = SystemError(call: "rename", subject: path)
            unlink(temp)
            throw e
        }
        try syncDirectory(of: path)
    }

    /// Writes `bytes` at the start of an existing file or block device in place and fsyncs it
    /// (firmware slots: a partition cannot be renamed over). Not atomic: callers keep the
    /// bootloader pointed elsewhere until the write is done and verified.
    public static func overwrite(_ bytes: [UInt8], at path: String, truncate: Bool) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : 0), 0o600)
        guard fd >= 0 else { throw SystemError(call: "open", subject: path) }
        defer { close(fd) }
        try writeAll(fd, bytes, subject: path)
        guard fsync(fd) == 0 else { throw SystemError(call: "fsync", subject: path) }
    }

    /// Points the symbolic link `path` at `target` atomically: a new link under a temporary
    /// name renamed over the old one, then the directory synced. A concurrent reader resolves
    /// either the old target or the new one, never a missing link.
    public static func replaceSymlink(_ path: String, target: String) throws {
        let temp = path + ".tmp-\(getpid())"
        unlink(temp)
        guard symlink(target, temp) == 0 else { throw SystemError(call: "symlink", subject: temp) }
        guard rename(temp, path) == 0 else {
            let e = SystemError(call: "rename", subject: path)
            unlink(temp)
            throw e
        }
        try syncDirectory(of: path)
    }

    /// fsync of the directory holding `path` (makes a rename or unlink in it durable).
    public static func syncDirectory(of path: String) throws {
        let dir = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        try syncDirectory(dir.isEmpty ? "/" : dir)
    }

    /// fsync of a directory itself.
    public static func syncDirectory(_ dir: String) throws {
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError(call: "open", subject: dir) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw SystemError(call: "fsync", subject: dir) }
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], subject: String) throws {
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw SystemError(call: "write", subject: subject)
                }
                offset += n
            }
        }
    }
}
