import Foundation
import UTMSystem
#if canImport(Glibc)
import Glibc
#endif

/// Asks the running utmd one question over its control socket (JSON lines) and returns the
/// answer as a dictionary. Every failure becomes one line for the operator.
enum ControlClient {
    static let defaultPath = "/run/mimamori/utmd.sock"

    static func ask(_ request: [String: Any], socket path: String) throws -> [String: Any] {
        let connection: UnixConnection
        do {
            connection = try UnixConnection.connect(path: path)
        } catch let e as SystemError {
            switch e.code {
            case ENOENT, ECONNREFUSED:
                throw fail("utmd is not running (no control socket at \(path)); start it with 'systemctl start utmd'")
            case EACCES, EPERM:
                throw fail("\(path): permission denied; the control socket is root's (run with sudo)")
            default:
                throw fail("\(e)")
            }
        }
        defer { connection.close() }
        let data = try JSONSerialization.data(withJSONObject: request)
        do {
            try connection.write(String(decoding: data, as: UTF8.self) + "\n")
        } catch {
            throw fail("utmd closed the control socket: \(error)")
        }
        guard let line = connection.readLine(timeoutMilliseconds: 5000) else {
            throw fail("utmd did not answer within 5 s on \(path)")
        }
        guard let answer = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
            throw fail("utmd answered something that is not JSON: \(line.prefix(80))")
        }
        if (answer["ok"] as? Bool) != true {
            throw fail("utmd: \(answer["error"] as? String ?? "request refused")")
        }
        return answer
    }

    /// The answer as one JSON line (for --json), keys sorted so scripts and diffs are stable.
    static func json(_ object: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Human-readable sizes and rates for the screens.
enum Human {
    static func bytes(_ n: Double) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var v = n, u = 0
        while v >= 1000 && u < units.count - 1 { v /= 1000; u += 1 }
        return u == 0 ? "\(Int(v)) B" : String(format: "%.1f %@", v, units[u])
    }

    static func bits(_ n: Double) -> String {
        let units = ["bit/s", "kbit/s", "Mbit/s", "Gbit/s"]
        var v = n, u = 0
        while v >= 1000 && u < units.count - 1 { v /= 1000; u += 1 }
        return String(format: u == 0 ? "%.0f %@" : "%.2f %@", v, units[u])
    }

    static func duration(_ seconds: Int) -> String {
        let d = seconds / 86400, h = seconds % 86400 / 3600, m = seconds % 3600 / 60, s = seconds % 60
        if d > 0 { return "\(d)d \(h)h \(m)m" }
        if h > 0 { return "\(h)h \(m)m" }
        return m > 0 ? "\(m)m \(s)s" : "\(s)s"
    }

    static func number(_ v: Any?) -> Double {
        if let i = v as? Int { return Double(i) }
        if let d = v as? Double { return d }
        if let n = v as? NSNumber { return n.doubleValue }
        return 0
    }
}
