import UTMDetect
import UTMEngine
import UTMSystem

/// `utmctl replay --ids / --set / --threshold-file / --drop-log-flows`: running a capture under
/// another deployment's settings (IDS instead of inline, Suricata configuration keys, a
/// threshold.config), so Suricata's own end-to-end tests can be replayed as they were meant.
enum ReplayModes {
    static func apply(ids: Bool, dropLogFlows: Bool, settings: [String], to config: inout EngineConfig,
                      warn: (String) -> Void) throws {
        config.modes.ids = ids
        config.modes.dropLogFlows = dropLogFlows
        var explicitPolicy = false
        var explicitFlowTablePolicy = false
        // The master switch yields to a specific policy wherever it appears on the line.
        let ordered = settings.filter { !$0.hasPrefix("exception-policy=") } + settings.filter { $0.hasPrefix("exception-policy=") }
        for item in ordered {
            do {
                if let w = try ReplaySettings.apply(item, to: &config, explicitMidstreamPolicy: &explicitPolicy,
                                                    explicitFlowTablePolicy: &explicitFlowTablePolicy) {
                    warn("warning: \(w)")
                }
            } catch {
                throw ReplayOptionError(description: error.description)
            }
        }
    }

    /// `--anomaly-log TYPES` (after `--set`, so the flag wins over `--set anomaly-log=`).
    static func anomalyLog(_ text: String?, to config: inout EngineConfig) throws {
        guard let text else { return }
        do {
            config.anomalyLog.types = try AnomalyLogTypes.parse(text)
        } catch {
            throw ReplayOptionError(description: "--anomaly-log \(error.description)")
        }
    }

    /// Reads and parses a threshold.config; a bad line fails the run with file:line.
    static func thresholdConfig(_ path: String?) throws -> ThresholdConfig? {
        guard let path else { return nil }
        let bytes: [UInt8]
        do {
            bytes = try readWholeFile(path)
        } catch {
            throw ReplayOptionError(description: "--threshold-file \(path): \(error)")
        }
        do {
            return try ThresholdConfig.parse(String(decoding: bytes, as: UTF8.self), name: path)
        } catch {
            throw ReplayOptionError(description: "--threshold-file \(error)")
        }
    }
}
