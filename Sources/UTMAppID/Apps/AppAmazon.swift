import UTMCore

/// Amazon shopping, Prime Video, Alexa.
enum AppAmazon {
    static let descriptor = AppDescriptor(
        id: .amazon, name: "Amazon", kind: .service, category: "Shopping",
        names: ["amazon.com", "amazon.co.jp", "amazon.co.uk", "amazon.de", "amazon.fr", "amazon.it",
                "amazon.es", "amazon.ca", "amazon.in", "amazon.com.au", "amazon.com.br", "amazon.nl",
                "amazon.jobs", "media-amazon.com", "ssl-images-amazon.com", "images-amazon.com",
                "amazon-adsystem.com", "a2z.com", "amazontrust.com", "amazonpay.com", "amazonvideo.com",
                "primevideo.com", "amazon.dev", "audible.com", "kindle.com", "alexa.amazon.com",
                "amazonalexa.com"])
}
