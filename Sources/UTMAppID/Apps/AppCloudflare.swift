import UTMCore

/// Cloudflare's own services (not sites it fronts).
enum AppCloudflare {
    static let descriptor = AppDescriptor(
        id: .cloudflare, name: "Cloudflare", kind: .service, category: "Web",
        names: ["cloudflare.com", "cloudflare.net", "cloudflareinsights.com", "cloudflarestream.com",
                "cloudflareclient.com", "workers.dev", "pages.dev", "cf-ns.com", "cloudflare-ipfs.com",
                "cloudflarestatus.com"])
}
