// swift-tools-version:6.0
// Mimamori UTM: the firmware daemon of a small inline UTM box.
//
// Targets are layered so the packet path reads from the folder names:
//   C shims (CPcap, CNetfilterQueue, COpenSSL, CZlib) → thin system wrappers (UTMCrypto, UTMInflate)
//   → pure engine: UTMCore → UTMDecode → UTMFlow → UTMAppLayer → UTMOutput → UTMEngine
//   → capture sources (UTMCapture) → executables (utmd, utmctl).
import PackageDescription

/// Release builds check exclusivity statically only and optimise across modules: the engine is
/// split into layers for readers, not for the optimiser.
let engineSettings: [SwiftSetting] = [
    .unsafeFlags(["-cross-module-optimization"], .when(configuration: .release)),
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

/// Exported symbols let the test binary's malloc replace glibc's for every library.
let testLinkerSettings: [LinkerSetting] = [.unsafeFlags(["-Xlinker", "--export-dynamic"])]

let package = Package(
    name: "Mimamori",
    products: [
        .executable(name: "utmd", targets: ["utmd"]),
        .executable(name: "utmctl", targets: ["utmctl"]),
        .executable(name: "mimamori-cloud", targets: ["mimamori-cloud"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // C shims: module maps over Debian's -dev packages; nothing else touches C directly.
        .systemLibrary(name: "CPcap", path: "Sources/CPcap", pkgConfig: "libpcap",
                       providers: [.apt(["libpcap-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        // bzip2 members and .bz2 files for the antivirus (avwf).
        .systemLibrary(name: "CBzip2", path: "Sources/CBzip2", providers: [.apt(["libbz2-dev"])]),
        .systemLibrary(name: "CPCRE2", path: "Sources/CPCRE2", pkgConfig: "libpcre2-8",
                       providers: [.apt(["libpcre2-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CNetfilterQueue", path: "Sources/CNetfilterQueue", pkgConfig: "libnetfilter_queue",
                       providers: [.apt(["libnetfilter-queue-dev"])]),

        // The small system layer: clocks, process statistics, files. The only Glibc user
        // besides the capture sources.
        .target(name: "UTMSystem", dependencies: ["UTMCore"], exclude: ["README.md"], swiftSettings: engineSettings),

        // Thin, allocation-aware wrappers over the shims.
        .target(name: "UTMCrypto", dependencies: ["COpenSSL", "UTMCore"], exclude: ["README.md"], swiftSettings: engineSettings),
        .target(name: "UTMInflate", dependencies: ["CZlib", "UTMCore", "CBzip2"], exclude: ["README.md"], swiftSettings: engineSettings),
        .target(name: "UTMRegex", dependencies: ["CPCRE2", "UTMCore"], exclude: ["README.md"], swiftSettings: engineSettings),

        // The pure engine.
        .target(name: "UTMCore", exclude: ["README.md"], swiftSettings: engineSettings),
        .target(name: "UTMDecode", dependencies: ["UTMCore"], exclude: ["README.md"], swiftSettings: engineSettings),
        .target(name: "UTMFlow", dependencies: ["UTMCore", "UTMDecode"], exclude: ["README.md"], swiftSettings: engineSettings),
        .target(name: "UTMAppLayer", dependencies: ["UTMCore", "UTMCrypto", "UTMInflate"], exclude: ["README.md"],
                swiftSettings: engineSettings),
        .target(name: "UTMOutput", dependencies: ["UTMCore", "UTMDecode", "UTMFlow", "UTMAppLayer"], exclude: ["README.md"],
                swiftSettings: engineSettings),
        // Multi-pattern literal matcher shared by the IPS prefilter and the antivirus body signatures.
        .target(name: "UTMMatch", dependencies: ["UTMCore", "CUTMMatch"], exclude: ["README.md"], swiftSettings: engineSettings),
        // UTMMatch's C shim: the prefilter's inner loop (static inline, byte pairs read in place).
        .target(name: "CUTMMatch", exclude: ["README.md"]),
        // Antivirus: ClamAV signature formats, streaming scanner, containers and mail extraction.
        .target(name: "UTMAntivirus", dependencies: ["UTMCore", "UTMCrypto", "UTMInflate", "UTMMatch", "UTMAppLayer"], exclude: ["README.md"],
                swiftSettings: engineSettings),
        .target(name: "UTMEngine",
                dependencies: ["UTMCore", "UTMDecode", "UTMFlow", "UTMAppLayer", "UTMOutput", "UTMWebFilter", "UTMAppID",
                               "UTMAntivirus", "UTMDetect"],
                exclude: ["README.md"],
                swiftSettings: engineSettings),

        // The web filter: URL category database (compiled UT1 lists, mapped read-only) and policy.
        .target(name: "UTMWebFilter", dependencies: ["UTMCore"], exclude: ["README.md"], swiftSettings: engineSettings),

        // Application identification (nDPI-style): which application each flow belongs to.
        .target(name: "UTMAppID", dependencies: ["UTMCore"], exclude: ["README.md"], swiftSettings: engineSettings),

        // Detection: the Suricata rule language, signatures and per-rule verification.
        .target(name: "UTMDetect",
                dependencies: ["UTMCore", "UTMDecode", "UTMFlow", "UTMAppLayer", "UTMRegex", "UTMMatch", "UTMCrypto"],
                exclude: ["README.md"],
                swiftSettings: engineSettings),

        // Control plane: the SQLite event store and the cloud upload queue (not the packet path).
        .target(name: "UTMStore", dependencies: ["CSQLite", "UTMCore", "UTMSystem"], exclude: ["README.md"]),

        // Control plane: signed definition and firmware updates, the A/B boot environment,
        // factory wipe (issue 7, updates helper). Not the packet path.
        .target(name: "UTMUpdate",
                dependencies: ["UTMCore", "UTMCrypto", "UTMSystem", "UTMDecode", "UTMEngine", "UTMDetect",
                               "UTMAntivirus", "UTMWebFilter"],
                exclude: ["README.md"]),
        // Cloud link (issue 7): the box's client (activation, mTLS pinned to the cloud CA,
        // heartbeat with commands, store-and-forward alert upload) over the system's libssl,
        // and the reference cloud service on the same TLS and HTTP code (no NIO, no BoringSSL).
        .systemLibrary(name: "CMimamoriTLS", path: "Sources/CMimamoriTLS", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),
        .target(name: "UTMCloudClient", dependencies: ["CMimamoriTLS", "UTMStore"], exclude: ["README.md"]),
        .target(name: "UTMCloudService", dependencies: ["UTMCloudClient", "UTMStore", "CSQLite"], exclude: ["README.md"]),
        .executableTarget(name: "mimamori-cloud", dependencies: [
            "UTMCloudService", "UTMCloudClient", "UTMUpdate",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The box's answer to cloud commands: fetch, verify and install updates; wipe.
        .target(name: "UTMBoxAgent", dependencies: ["UTMCloudClient", "UTMUpdate", "UTMStore"], exclude: ["README.md"]),
        // Reports for the customer (monthly, weekly): HTML with inline SVG, from the event store.
        .target(name: "UTMReport", dependencies: ["UTMStore"], exclude: ["README.md"]),

        // Capture sources.
        .target(name: "UTMCapture", dependencies: ["CPcap", "CNetfilterQueue", "UTMCore", "UTMSystem", "UTMDecode"], exclude: ["README.md"], swiftSettings: engineSettings),

        // Executables.
        .executableTarget(name: "utmctl", dependencies: [
            "UTMEngine", "UTMCapture", "UTMCore", "UTMSystem", "UTMWebFilter", "UTMDetect", "UTMStore", "UTMCloudClient",
            "UTMReport", "UTMAntivirus",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: engineSettings),
        // Benchmark of UTMMatch against Hyperscan; the only user of CHyperscan (never the engine).
        .systemLibrary(name: "CHyperscan", path: "Sources/CHyperscan", pkgConfig: "libhs",
                       providers: [.apt(["libhyperscan-dev"])]),
        .executableTarget(name: "mpm-bench", dependencies: ["UTMMatch", "UTMCore", "CHyperscan"],
                          swiftSettings: engineSettings),
        .executableTarget(name: "utmd", dependencies: ["UTMEngine", "UTMCapture", "UTMCore", "UTMSystem", "UTMWebFilter", "UTMDetect",
                                                     "UTMOutput", "UTMCloudClient", "UTMBoxAgent"],
                          swiftSettings: engineSettings),

        // Tests mirror Sources. Every test target links into one binary; it exports its
        // symbols so AllocationCounter's malloc interposes the libraries' calls too.
        // The interposing malloc family is C: Swift reserves those symbol names.
        .target(name: "CAllocationCounter", path: "Tests/CAllocationCounter"),
        .target(name: "AllocationCounter", dependencies: ["CAllocationCounter"], path: "Tests/AllocationCounter"),
        // Shell commands with time limits, spawned children, namespace cleanup: shared by the
        // suites that drive real processes (live, update, operator tests).
        .target(name: "LiveTestSupport", path: "Tests/LiveTestSupport"),
        .testTarget(name: "UTMCoreTests", dependencies: ["UTMCore", "AllocationCounter"],
                    linkerSettings: testLinkerSettings),
        .testTarget(name: "UTMDecodeTests", dependencies: ["UTMDecode", "UTMCore", "AllocationCounter"],
                    linkerSettings: testLinkerSettings),
        .testTarget(name: "UTMFlowTests", dependencies: ["UTMFlow", "UTMDecode", "UTMCore", "AllocationCounter"],
                    linkerSettings: testLinkerSettings),
        .testTarget(name: "UTMAppLayerTests", dependencies: ["UTMAppLayer", "UTMCore", "UTMCrypto", "UTMInflate", "AllocationCounter"],
                    linkerSettings: testLinkerSettings),
        .testTarget(name: "UTMWebFilterTests", dependencies: ["UTMWebFilter", "UTMCore", "UTMSystem", "AllocationCounter"],
                    linkerSettings: testLinkerSettings),
        .testTarget(name: "UTMDetectTests", dependencies: ["UTMDetect", "UTMCore", "UTMMatch", "AllocationCounter"],
                    linkerSettings: testLinkerSettings),
        .testTarget(name: "UTMMatchTests", dependencies: ["UTMMatch", "UTMCore", "AllocationCounter"],
                    linkerSettings: testLinkerSettings),
        .testTarget(name: "UTMEngineTests", dependencies: ["UTMEngine", "UTMCapture", "UTMCore", "UTMSystem", "UTMWebFilter",
                                                       "UTMAppID", "UTMOutput", "UTMDecode", "UTMAntivirus", "UTMDetect",
                                                       "AllocationCounter"],
                    linkerSettings: testLinkerSettings),
        .testTarget(name: "UTMAppIDTests",
                    dependencies: ["UTMAppID", "UTMCore", "UTMCapture", "UTMEngine", "UTMDecode", "UTMFlow",
                                   "UTMAppLayer", "AllocationCounter"],
                    linkerSettings: testLinkerSettings),
        .testTarget(name: "UTMAntivirusTests", dependencies: ["UTMAntivirus", "UTMCore", "UTMInflate", "UTMAppLayer", "AllocationCounter"],
                    linkerSettings: testLinkerSettings),
        .testTarget(name: "UTMStoreTests", dependencies: ["UTMStore", "UTMCore", "AllocationCounter"],
                    linkerSettings: testLinkerSettings),
        .testTarget(name: "UTMUpdateTests", dependencies: ["UTMUpdate", "UTMCrypto", "UTMSystem", "UTMCore", "UTMEngine",
                                                       "AllocationCounter", "LiveTestSupport"],
                    linkerSettings: testLinkerSettings),
        // Issue 7 end to end: activation, alerts, outage, definitions and firmware from the cloud, wipe.
        .testTarget(name: "UTMControlPlaneTests",
                    dependencies: ["UTMBoxAgent", "UTMCloudClient", "UTMCloudService", "UTMUpdate", "UTMStore", "UTMCrypto",
                                   "AllocationCounter", "LiveTestSupport"],
                    linkerSettings: testLinkerSettings),
        .testTarget(name: "UTMCloudTests", dependencies: ["UTMCloudClient", "UTMCloudService", "UTMStore", "AllocationCounter"],
                    linkerSettings: testLinkerSettings),
        // The operator's commands end to end: control socket, diag in namespaces, reports.
        .testTarget(name: "UTMOperatorTests", dependencies: ["UTMReport", "UTMStore", "UTMSystem", "UTMCore", "AllocationCounter", "LiveTestSupport"],
                    exclude: ["peer-services.py"], linkerSettings: testLinkerSettings),
        // The live inline path end to end: network namespaces, NFQUEUE and utmd (root only).
        .testTarget(name: "UTMLiveTests", dependencies: ["UTMCapture", "UTMCore", "AllocationCounter", "LiveTestSupport"],
                    linkerSettings: testLinkerSettings),
    ]
)

// Issue 7 (updates): the executables drive UTMUpdate (utmctl defs/firmware/wipe, utmd's store
// and mark-good). Appended here rather than edited into their lines to keep merges local.
for name in ["utmctl", "utmd"] {
    package.targets.first { $0.name == name }?.dependencies.append("UTMUpdate")
}
