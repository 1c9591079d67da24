import Foundation
import UTMSystem

/// Factory wipe at contract end (issue 7): logs, event store, settings, credentials and
/// installed definitions go; the factory definitions and settings come back; the box is
/// unactivated. The firmware slots and boot environment stay (the box must still boot).
public enum FactoryReset {
    public struct Report: Sendable {
        public var removed: [String] = []
        public var restored: [String] = []
    }

    /// Not activated: no credential file.
    public static func isActivated(_ paths: BoxPaths) -> Bool {
        !((try? FileManager.default.contentsOfDirectory(atPath: paths.credentialsDirectory)) ?? []).isEmpty
    }

    @discardableResult
    public static func wipe(_ paths: BoxPaths) throws -> Report {
        var report = Report()
        let fm = FileManager.default
        // Credentials first: overwritten before unlinking, so a key is not left in free blocks
        // of a plain file system (best effort on flash).
        for file in files(under: paths.credentialsDirectory) {
            if let size = (try? fm.attributesOfItem(atPath: file))?[.size] as? Int, size > 0 {
                try? DurableFile.overwrite([UInt8](repeating: 0, count: size), at: file, truncate: false)
            }
        }
        try removeContents(paths.credentialsDirectory, &report)
        // ".eve-position": where earlier versions kept the cloud client's EVE read position.
        for suffix in ["", "-wal", "-shm", "-journal", ".eve-position"] where fm.fileExists(atPath: paths.eventStore + suffix) {
            try fm.removeItem(atPath: paths.eventStore + suffix)
            report.removed.append(paths.eventStore + suffix)
        }
        try removeContents(paths.logDirectory, &report)
        try removeContents(paths.configDirectory, &report)
        try removeContents(paths.definitionsDirectory, &report)
        try? fm.removeItem(atPath: paths.firmware.rebootSchedule)
        // Factory settings and definitions back.
        if fm.fileExists(atPath: paths.factoryConfigDirectory) {
            try fm.createDirectory(atPath: paths.configDirectory, withIntermediateDirectories: true)
            for name in try fm.contentsOfDirectory(atPath: paths.factoryConfigDirectory) {
                try fm.copyItem(atPath: paths.factoryConfigDirectory + "/" + name, toPath: paths.configDirectory + "/" + name)
                report.restored.append(paths.configDirectory + "/" + name)
            }
        }
        report.restored += try restoreFactoryDefinitions(paths)
        try? DurableFile.syncDirectory(paths.stateDirectory)
        return report
    }

    /// Installs the factory definition set (one folder per kind under
    /// `factoryDefinitionsDirectory`) as version 0 of each kind. Returns the kinds restored.
    public static func restoreFactoryDefinitions(_ paths: BoxPaths) throws -> [String] {
        let store = paths.definitionStore
        var restored: [String] = []
        for kind in ArtifactKind.definitions {
            let dir = paths.factoryDefinitionsDirectory + "/" + kind.name
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { continue }
            var files: [(name: String, bytes: [UInt8])] = []
            for n in names.sorted() where PayloadArchive.isSafeName(n) {
                files.append((n, try readWholeFile(dir + "/" + n)))
            }
            let v = try store.stage(kind: kind, sequence: 0, created: 0, expires: UInt64.max, digest: [], files: files, now: 0)
            try store.activate(v)
            restored.append("\(kind.name) v0 (factory)")
        }
        return restored
    }

    static func files(under dir: String) -> [String] {
        guard let e = FileManager.default.enumerator(atPath: dir) else { return [] }
        var out: [String] = []
        while let rel = e.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: dir + "/" + rel, isDirectory: &isDir), !isDir.boolValue { out.append(dir + "/" + rel) }
        }
        return out
    }

    static func removeContents(_ dir: String, _ report: inout Report) throws {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
        for n in names {
            try FileManager.default.removeItem(atPath: dir + "/" + n)
            report.removed.append(dir + "/" + n)
        }
        try? DurableFile.syncDirectory(dir)
    }
}
