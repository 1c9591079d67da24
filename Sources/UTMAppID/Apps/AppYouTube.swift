import UTMCore

/// YouTube: its sites, thumbnails and video CDN (googlevideo.com).
enum AppYouTube {
    static let descriptor = AppDescriptor(
        id: .youtube, name: "YouTube", kind: .service, category: "Media",
        names: ["youtube.com", "youtu.be", "ytimg.com", "googlevideo.com", "youtube-nocookie.com",
                "youtubei.googleapis.com", "youtube.googleapis.com", "yt3.ggpht.com", "yt4.ggpht.com",
                "youtubekids.com", "youtube-ui.l.google.com", "wide-youtube.l.google.com",
                "youtubeeducation.com"])
}
