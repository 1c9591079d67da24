import UTMCore

/// Zoom: its domains and its media ports 8801-8810.
enum AppZoom {
    static let descriptor = AppDescriptor(
        id: .zoom, name: "Zoom", kind: .service, category: "VideoConference",
        tcpPorts: [8801, 8802],
        udpPorts: [8801, 8802, 8803, 8804, 8805, 8806, 8807, 8808, 8809, 8810],
        names: ["zoom.us", "zoom.com", "zoomgov.com", "zoom.com.cn", "zoomcdn.com", "zoomus.cn", "zoom.nyc",
                "zoomappdocs.com"])
}
