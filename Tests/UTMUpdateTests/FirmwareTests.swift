import Foundation
import Testing
import UTMCrypto
@testable import UTMUpdate

@Suite struct FirmwareTests {
    struct Box {
        let f: UpdateFixture
        let layout: FirmwareLayout
        var updater: FirmwareUpdater
        let bootloader: BootloaderSimulator

        init() throws {
            f = try UpdateFixture()
            layout = BoxPaths(root: f.dir).firmware
            try FileManager.default.createDirectory(atPath: f.dir + "/firmware", withIntermediateDirectories: true)
            updater = FirmwareUpdater(layout: layout, keyring: f.keyring)
            bootloader = BootloaderSimulator(layout: layout)
            // Factory state: slot a holds version 1.
            let factory = Array("factory image v1".utf8)
            try Data(factory).write(to: URL(fileURLWithPath: layout.slotA))
            var env = BootEnvironment.load(primary: layout.envPrimary, redundant: layout.envRedundant)
            try env.update(["fw_version_a": "1", "fw_sha256_a": hex(OneShotSHA256.hash(factory)), "fw_size_a": "\(factory.count)"])
        }

        func image(_ version: UInt64) -> [UInt8] {
            f.artifact(.firmware, version, payload: Array("rootfs image v\(version) ".utf8) + [UInt8](repeating: UInt8(version), count: 4096))
        }
        var env: BootEnvironment { updater.environment() }
    }

    @Test func healthyNewSlotIsKept() throws {
        var box = try Box()
        defer { box.f.cleanup() }
        #expect(try box.bootloader.boot() == "a")
        #expect(try box.updater.stage(box.image(2), now: box.f.now) == "b")
        // Still on the old system: marking good must not bless the untried slot.
        #expect(try box.updater.markGood() == false)
        try box.updater.scheduleReboot(at: box.f.now + 3600)
        #expect(box.updater.takeDueReboot(now: box.f.now) == false)
        #expect(box.updater.takeDueReboot(now: box.f.now + 3600) == true)
        #expect(box.updater.scheduledReboot() == nil)
        #expect(try box.bootloader.boot() == "b")
        #expect(box.env.number("bootcount") == 1)
        #expect(try box.updater.markGood() == true)
        for _ in 0 ..< 5 { #expect(try box.bootloader.boot() == "b") }
        let s = UpdateStatus.collect(BoxPaths(root: box.f.dir)).firmware
        #expect(s.bootSlot == "b" && s.runningSlot == "b" && s.good && !s.upgradeAvailable && s.versionB == "2" && s.versionA == "1")
        #expect(box.env["upgrade_available"] == "0" && box.env["fw_version_b"] == "2")
        // The next update goes to slot a, and an older version is refused.
        #expect(throws: ArtifactError.self) { try box.updater.stage(box.image(2), now: box.f.now) }
        box.updater.faultHook = nil
        #expect(try box.updater.stage(box.image(3), now: box.f.now) == "a")
    }

    /// A new system that never passes its health check: after `bootlimit` tries the
    /// bootloader falls back to the old slot, which still holds the old image.
    @Test func unhealthyNewSlotRollsBack() throws {
        let box = try Box()
        defer { box.f.cleanup() }
        try box.bootloader.boot()
        try box.updater.stage(box.image(2), now: box.f.now)
        var booted: [String] = []
        for _ in 0 ..< 5 { booted.append(try box.bootloader.boot()) }   // utmd never marks good
        #expect(booted == ["b", "b", "b", "a", "a"])
        #expect(box.env["boot_slot"] == "a" && box.env["upgrade_available"] == "0")
        #expect(box.bootloader.imageValid(box.env, "a"))
        #expect(try box.updater.markGood() == false)
        let s = UpdateStatus.collect(BoxPaths(root: box.f.dir)).firmware
        #expect(s.bootSlot == "a" && s.runningSlot == "a" && s.good)
    }

    /// A power cut after every step of staging (and a torn environment write) leaves a box that
    /// boots a slot with a valid image.
    @Test func powerCutAtEveryStepLeavesABootableBox() throws {
        struct Cut: Error {}
        for step in FirmwareUpdater.Step.allCases {
            var box = try Box()
            defer { box.f.cleanup() }
            try box.bootloader.boot()
            box.updater.faultHook = { if $0 == step { throw Cut() } }
            #expect(throws: Cut.self) { try box.updater.stage(box.image(2), now: box.f.now) }
            let slot = try box.bootloader.boot()
            #expect(box.bootloader.imageValid(box.env, slot), "cut after \(step): booted \(slot) with a bad image")
            #expect(slot == (step == .environmentWritten ? "b" : "a"), "cut after \(step)")
        }
        // A torn image write: the slot is garbage but the environment never named it.
        let box = try Box()
        defer { box.f.cleanup() }
        try box.bootloader.boot()
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: box.layout.slotB))
        #expect(try box.bootloader.boot() == "a")
    }

    @Test func environmentSurvivesOneCorruptCopy() throws {
        let f = try UpdateFixture()
        defer { f.cleanup() }
        let a = f.dir + "/env", b = f.dir + "/env.redund"
        var env = BootEnvironment.load(primary: a, redundant: b)
        #expect(env.activeCopy == -1 && env["boot_slot"] == "a" && env.badCopies == [0, 1])
        try env.update(["boot_slot": "a", "x": "1"])
        try env.update(["boot_slot": "b", "x": "2"])
        // The newest write (copy 0 then copy 1) is read back.
        var read = BootEnvironment.load(primary: a, redundant: b)
        #expect(read["boot_slot"] == "b" && read["x"] == "2" && read.badCopies.isEmpty)
        // Tear the newest copy: the other one wins, with the older values.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: read.activeCopy == 0 ? a : b)))
        bytes[20] ^= 0xff
        try Data(bytes).write(to: URL(fileURLWithPath: read.activeCopy == 0 ? a : b))
        read = BootEnvironment.load(primary: a, redundant: b)
        #expect(read["boot_slot"] == "a" && read["x"] == "1" && read.badCopies.count == 1)
        // The next write repairs the torn copy.
        try read.update(["x": "3"])
        let again = BootEnvironment.load(primary: a, redundant: b)
        #expect(again["x"] == "3" && again.badCopies.isEmpty)
        // Counter wrap-around: 0 is newer than 255.
        #expect(BootEnvironment.newer(0, than: 255) && !BootEnvironment.newer(255, than: 0) && BootEnvironment.newer(9, than: 8))
        // Both copies gone bad: the defaults, never a failure.
        try Data([0]).write(to: URL(fileURLWithPath: a))
        try Data([0]).write(to: URL(fileURLWithPath: b))
        #expect(BootEnvironment.load(primary: a, redundant: b)["bootlimit"] == "3")
    }

    @Test func definitionArtifactIsNotFirmware() throws {
        let box = try Box()
        defer { box.f.cleanup() }
        let e = #expect(throws: ArtifactError.self) {
            try box.updater.stage(box.f.definitions(.ips, 5, [("a.rules", UpdateFixture.goodRules)]), now: box.f.now)
        }
        #expect(e?.code == .wrongKind)
    }
}
