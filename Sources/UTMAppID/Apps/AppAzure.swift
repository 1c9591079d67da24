import UTMCore

/// Microsoft Azure hosting and storage.
enum AppAzure {
    static let descriptor = AppDescriptor(
        id: .azure, name: "Azure", kind: .service, category: "Cloud",
        names: ["azure.com", "azureedge.net", "azurewebsites.net", "cloudapp.net", "cloudapp.azure.com",
                "blob.core.windows.net", "core.windows.net", "azure-api.net", "azurefd.net",
                "trafficmanager.net", "azure.net", "azurecr.io", "windowsazure.com", "azure-dns.com",
                "azure-dns.net"])
}
