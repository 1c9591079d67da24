// The one file of UTMWebFilter that uses Foundation: reading list folders and configuration
// text happens at load time, never on the packet path.
import Foundation
import UTMCore

extension WebFilterConfig {
    /// Parses the JSON form (see `WebFilterConfig`). Errors are one line.
    public static func parse(json: [UInt8]) throws -> WebFilterConfig {
        do {
            return try JSONDecoder().decode(WebFilterConfig.self, from: Data(json))
        } catch let DecodingError.dataCorrupted(ctx) {
            throw WebFilterConfigError(entry: "json", reason: ctx.debugDescription)
        } catch let DecodingError.typeMismatch(_, ctx), let DecodingError.valueNotFound(_, ctx) {
            let path = ctx.codingPath.map { $0.stringValue }.joined(separator: ".")
            throw WebFilterConfigError(entry: path.isEmpty ? "json" : path, reason: ctx.debugDescription)
        } catch {
            throw WebFilterConfigError(entry: "json", reason: "\(error)")
        }
    }

    /// Reads and parses a JSON file.
    public static func load(path: String) throws -> WebFilterConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw WebFilterConfigError(entry: path, reason: "cannot read the file")
        }
        return try parse(json: [UInt8](data))
    }
}

/// A list folder that cannot be read.
public struct CategorySourceError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }
}

extension CategoryCompiler {
    /// The folder holding the lists: `dir` itself, or `dir/blacklists` (UT1's top level).
    public static func listFolder(_ dir: String) throws -> String {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw CategorySourceError(path: dir, reason: "not a directory")
        }
        let nested = (dir as NSString).appendingPathComponent("blacklists")
        if FileManager.default.fileExists(atPath: nested, isDirectory: &isDir), isDir.boolValue { return nested }
        return dir
    }

    /// Compiles a UT1-format folder: every subfolder with a `domains` or `urls` file is a list
    /// named after the subfolder; lists are numbered in name order.
    public static func compile(directory dir: String) throws -> (bytes: [UInt8], stats: Stats, compiler: CategoryCompiler) {
        let folder = try listFolder(dir)
        let fm = FileManager.default
        let names: [String]
        do {
            names = try fm.contentsOfDirectory(atPath: folder).sorted()
        } catch {
            throw CategorySourceError(path: folder, reason: "cannot list the folder")
        }
        var compiler = CategoryCompiler()
        for name in names {
            let sub = (folder as NSString).appendingPathComponent(name)
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: sub, isDirectory: &isDir), isDir.boolValue else { continue }
            let d = (sub as NSString).appendingPathComponent("domains")
            let u = (sub as NSString).appendingPathComponent("urls")
            let hasD = fm.fileExists(atPath: d), hasU = fm.fileExists(atPath: u)
            guard hasD || hasU else { continue }
            func read(_ p: String) throws -> [UInt8] {
                guard let data = fm.contents(atPath: p) else { throw CategorySourceError(path: p, reason: "cannot read") }
                return [UInt8](data)
            }
            let domains = hasD ? try read(d) : []
            let urls = hasU ? try read(u) : []
            try compiler.addList(name: name, domains: domains, urls: urls)
        }
        guard !compiler.listNames.isEmpty else {
            throw CategorySourceError(path: folder, reason: "no category lists (subfolders with domains or urls files)")
        }
        let bytes = compiler.build()
        return (bytes, compiler.stats, compiler)
    }
}
