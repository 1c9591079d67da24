import Foundation
import UTMStore

/// The wire format of the cloud link: JSON bodies over HTTPS (mTLS after activation). Both the
/// box and the reference service use these types, so the two ends cannot drift apart.
public enum CloudAPI {
    public static let activatePath = "/v1/activate"
    public static let heartbeatPath = "/v1/heartbeat"
    public static let alertsPath = "/v1/alerts"
    /// Signed definition sets and firmware images the cloud offers (list, then one by one).
    public static let artifactsPath = "/v1/artifacts"
    public static let artifactPath = "/v1/artifact"
}

/// Box → cloud: which artifacts the box has (kind name → highest sequence ever installed), so
/// the cloud lists only newer ones.
public struct ArtifactListRequest: Codable, Sendable {
    public var have: [String: UInt64]
    public init(have: [String: UInt64]) { self.have = have }
}

/// One signed artifact (MIMASIG1) the cloud holds. The box trusts none of these fields: it
/// verifies the signature, digest, expiry and sequence of the bytes themselves.
public struct ArtifactInfo: Codable, Sendable, Equatable {
    public var kind: String
    public var sequence: UInt64
    public var size: Int
    public init(kind: String, sequence: UInt64, size: Int) {
        self.kind = kind
        self.sequence = sequence
        self.size = size
    }
}

public struct ArtifactList: Codable, Sendable {
    public var artifacts: [ArtifactInfo]
    public init(artifacts: [ArtifactInfo]) { self.artifacts = artifacts }
}

/// Box → cloud: send me this artifact (the answer is its bytes, application/octet-stream).
public struct ArtifactRequest: Codable, Sendable {
    public var kind: String
    public var sequence: UInt64
    public init(kind: String, sequence: UInt64) {
        self.kind = kind
        self.sequence = sequence
    }
}

/// Box → cloud, the only call without a client certificate.
public struct ActivationRequest: Codable, Sendable {
    public var serial: String
    public var code: String
    public init(serial: String, code: String) {
        self.serial = serial
        self.code = code
    }
}

/// Cloud → box: the device identity and the settings it runs with.
public struct ActivationResponse: Codable, Sendable {
    /// PEM client certificate (CN = serial), its private key, and the CA the box pins.
    public var certificate: String
    public var key: String
    public var ca: String
    public var settings: CloudSettings
    public init(certificate: String, key: String, ca: String, settings: CloudSettings) {
        self.certificate = certificate
        self.key = key
        self.ca = ca
        self.settings = settings
    }
}

/// What the cloud tells the box at activation.
public struct CloudSettings: Codable, Sendable, Equatable {
    /// Seconds between heartbeats.
    public var heartbeat_seconds: Int
    /// Upload records per request.
    public var upload_batch: Int
    /// Identifies this activation: upload idempotency keys are (serial, epoch, seq), so a box
    /// wiped and activated again (its queue numbering restarted) is never taken for a replay.
    public var epoch: String
    public init(heartbeat_seconds: Int = 60, upload_batch: Int = 200, epoch: String) {
        self.heartbeat_seconds = heartbeat_seconds
        self.upload_batch = upload_batch
        self.epoch = epoch
    }
}

/// Box → cloud every minute.
public struct Heartbeat: Codable, Sendable, Equatable {
    public var uptime_seconds: Int
    public var firmware_version: String
    public var definitions_version: String
    /// Seconds since the definitions last changed; nil when unknown.
    public var definitions_age_seconds: Int?
    public var counters: [String: Int]
    public var disk_free_bytes: Int64
    public var disk_total_bytes: Int64
    /// Commands the box has carried out (or refused) since the last heartbeat.
    public var acknowledged_commands: [Int64]
    public init(uptime_seconds: Int = 0, firmware_version: String = "", definitions_version: String = "",
                definitions_age_seconds: Int? = nil, counters: [String: Int] = [:], disk_free_bytes: Int64 = 0,
                disk_total_bytes: Int64 = 0, acknowledged_commands: [Int64] = []) {
        self.uptime_seconds = uptime_seconds
        self.firmware_version = firmware_version
        self.definitions_version = definitions_version
        self.definitions_age_seconds = definitions_age_seconds
        self.counters = counters
        self.disk_free_bytes = disk_free_bytes
        self.disk_total_bytes = disk_total_bytes
        self.acknowledged_commands = acknowledged_commands
    }
}

/// One command from the cloud, carried by a heartbeat answer until the box acknowledges it.
public struct CloudCommand: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// Fetch and apply definitions now.
        case updateDefinitions = "update-defs"
        /// Reboot into the new firmware slot at `at` (EVE/ISO time; nil = now).
        case reboot
        /// Factory wipe at contract end [000 7.5].
        case wipe
    }
    public var id: Int64
    public var kind: Kind
    public var at: String?
    public init(id: Int64, kind: Kind, at: String? = nil) {
        self.id = id
        self.kind = kind
        self.at = at
    }
}

public struct HeartbeatResponse: Codable, Sendable {
    public var commands: [CloudCommand]
    public init(commands: [CloudCommand]) { self.commands = commands }
}

/// Box → cloud: upload records in queue order. `UploadRecord` has metadata fields only.
public struct AlertBatch: Codable, Sendable {
    public var epoch: String
    public var records: [UploadRecord]
    public init(epoch: String, records: [UploadRecord]) {
        self.epoch = epoch
        self.records = records
    }
}

/// Cloud → box: everything up to `acknowledged` is stored (duplicates counted once).
public struct AlertAck: Codable, Sendable {
    public var acknowledged: Int64
    public var duplicates: Int
    public init(acknowledged: Int64, duplicates: Int) {
        self.acknowledged = acknowledged
        self.duplicates = duplicates
    }
}

/// `{"error": "..."}` for every refusal.
public struct CloudErrorBody: Codable, Sendable {
    public var error: String
    public init(error: String) { self.error = error }
}
