import Foundation
import UTMCloudClient

/// Distribution of signed artifacts (definition sets, firmware images) to boxes.
///
/// The service stores what the vendor publishes as `artifacts/<kind>-<sequence>.sig` under its
/// data directory and offers boxes the newest of each kind above what they report having. It
/// never signs nor trusts these files: the vendor signs them offline (`utmctl defs sign`) and
/// every box verifies signature, digest, expiry and sequence itself, so a compromised cloud can
/// withhold updates but cannot install anything.
extension CloudService {
    /// Artifacts above this size are refused at publish time (the box bounds its download too).
    public static let maxArtifactBytes = 256 << 20

    var artifactDirectory: String { config.dataDirectory + "/artifacts" }

    /// Stores one artifact whose kind name and sequence the caller read from its signed header.
    /// Written to a temporary name and renamed, so a box never downloads half a file.
    public func publish(_ bytes: [UInt8], kind: String, sequence: UInt64) throws {
        guard kind.allSatisfy({ $0.isLetter }), !kind.isEmpty else { throw CloudError("artifact kind \(kind) is not a name") }
        guard bytes.count <= Self.maxArtifactBytes else {
            throw CloudError("artifact of \(bytes.count) bytes is over the \(Self.maxArtifactBytes) byte limit")
        }
        try FileManager.default.createDirectory(atPath: artifactDirectory, withIntermediateDirectories: true)
        let path = "\(artifactDirectory)/\(kind)-\(sequence).sig"
        let temp = path + ".tmp"
        guard FileManager.default.createFile(atPath: temp, contents: Data(bytes)) else {
            throw CloudError("\(temp): cannot write")
        }
        guard rename(temp, path) == 0 else { throw CloudError("\(path): rename failed (errno \(errno))") }
        log("cloud: published \(kind) v\(sequence) (\(bytes.count) bytes)")
    }

    /// Every stored artifact: kind, sequence, size. Names that do not parse are ignored.
    public func publishedArtifacts() -> [ArtifactInfo] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: artifactDirectory)) ?? []
        return names.compactMap { name -> ArtifactInfo? in
            guard name.hasSuffix(".sig"), let dash = name.lastIndex(of: "-") else { return nil }
            let kind = String(name[..<dash])
            guard let seq = UInt64(name[name.index(after: dash)...].dropLast(4)) else { return nil }
            let size = (try? FileManager.default.attributesOfItem(atPath: "\(artifactDirectory)/\(name)")[.size] as? Int) ?? 0
            return ArtifactInfo(kind: kind, sequence: seq, size: size)
        }.sorted { ($0.kind, $0.sequence) < ($1.kind, $1.sequence) }
    }

    /// The newest artifact of each kind that is above what the box has.
    func artifactList(_ request: ArtifactListRequest) -> ArtifactList {
        var newest: [String: ArtifactInfo] = [:]
        for a in publishedArtifacts() where a.sequence > (request.have[a.kind] ?? 0) {
            if a.sequence > newest[a.kind]?.sequence ?? 0 { newest[a.kind] = a }
        }
        return ArtifactList(artifacts: newest.values.sorted { $0.kind < $1.kind })
    }

    /// The bytes of one artifact, or a 404 refusal.
    func artifact(_ request: ArtifactRequest) throws -> HTTPMessage {
        guard publishedArtifacts().contains(where: { $0.kind == request.kind && $0.sequence == request.sequence }),
              let data = FileManager.default.contents(atPath: "\(artifactDirectory)/\(request.kind)-\(request.sequence).sig")
        else { throw Refusal(status: 404, message: "no artifact \(request.kind) v\(request.sequence)") }
        return HTTPMessage(status: 200, body: [UInt8](data), contentType: "application/octet-stream")
    }
}
