import Foundation
import UTMBoxAgent
import UTMCloudClient
import UTMUpdate

/// The daemon's cloud link: when the configuration has `cloud.*` keys, a `CloudClient` thread
/// follows the EVE file into the event store, sends heartbeats and uploads alert metadata.
/// Never in the way of traffic: a missing activation or a bad cloud setting is one log line
/// and the daemon runs without the cloud.
///
///     cloud.credentials = /var/lib/mimamori/cloud    # written by `utmctl activate` (default)
///     cloud.store = /var/lib/mimamori/events.db      # event store with the upload queue (default)
///     cloud.host = cloud.example.jp                  # optional: must be the activated cloud
///     cloud.heartbeat = 60                           # seconds; default: what the cloud said at activation
///     cloud.firmware_version = 1.0.0                 # reported in heartbeats
enum ControlPlane {
    static let keys: Set<String> = ["credentials", "store", "host", "heartbeat", "firmware_version"]

    /// Starts the cloud client thread, or says in one line why not. Commands go to `handler`
    /// (the definitions update, A/B reboot and wipe code); until that is wired they are logged.
    static func start(_ config: DaemonConfig, handler: (any CloudCommandHandler)? = nil,
                      counters: @escaping @Sendable () -> [String: Int] = { [:] },
                      log: @escaping @Sendable (String) -> Void) -> CloudClient? {
        guard !config.cloud.isEmpty else { return nil }
        if let unknown = config.cloud.keys.first(where: { !keys.contains($0) }) {
            log("cloud: unknown key cloud.\(unknown) (keys: \(keys.sorted().joined(separator: ", "))); running without the cloud")
            return nil
        }
        var c = CloudClientConfig()
        c.credentialsDirectory = config.cloud["credentials"] ?? CloudCredentials.defaultDirectory
        c.storePath = config.cloud["store"] ?? "/var/lib/mimamori/events.db"
        c.evePath = config.eve == "-" ? nil : config.eve
        c.expectedHost = config.cloud["host"]
        if let h = config.cloud["heartbeat"] {
            guard let s = Double(h), (5 ... 86_400).contains(s) else {
                log("cloud: cloud.heartbeat must be 5-86400 seconds, not \(h); running without the cloud")
                return nil
            }
            c.heartbeatSeconds = s
        }
        c.firmwareVersion = config.cloud["firmware_version"] ?? "dev"
        c.counters = counters
        let definitionFiles = config.rules + config.avDB + (config.categories.map { [$0] } ?? [])
        if config.updates["definitions"] != nil {
            // Signed sets from the definition store: their sequences are the versions.
            let paths = CloudCommands.paths(config)
            c.definitions = { storeStatus(paths) }
        } else {
            c.definitions = { definitionsStatus(definitionFiles) }
        }
        guard CloudCredentials.isActivated(c.credentialsDirectory) else {
            log("cloud: not activated (utmctl activate --cloud HOST:PORT --serial S --code C); alerts stay in the local store")
            return nil
        }
        do {
            let client = try CloudClient(config: c, handler: handler ?? LoggingCommandHandler(log: log), log: log)
            // The handler fetches updates over the client's link: known before the first
            // heartbeat can carry a command.
            (handler as? BoxCommandHandler)?.transport = client.transport
            client.start()
            log("cloud: reporting to \(client.credentials.info.host):\(client.credentials.info.port) as \(client.credentials.info.serial)")
            return client
        } catch {
            log("cloud: \(error); running without the cloud")
            return nil
        }
    }

    /// "ips v3, av v2, categories v5" and the age of the oldest installed set.
    static func storeStatus(_ paths: BoxPaths) -> (version: String, ageSeconds: Int?) {
        let defs = UpdateStatus.collect(paths).definitions
        let version = defs.map { "\($0.kind) " + ($0.sequence.map { "v\($0)" } ?? "none") }.joined(separator: ", ")
        return (version, defs.compactMap(\.ageSeconds).max().map { Int($0) })
    }

    /// The newest definitions file's time as the version, and its age.
    static func definitionsStatus(_ files: [String]) -> (version: String, ageSeconds: Int?) {
        let newest = files.compactMap { try? FileManager.default.attributesOfItem(atPath: $0)[.modificationDate] as? Date }.max()
        guard let newest else { return ("", nil) }
        return (ISO8601DateFormatter().string(from: newest), Int(Date().timeIntervalSince(newest)))
    }
}
