import UTMCore

/// Salesforce.
enum AppSalesforce {
    static let descriptor = AppDescriptor(
        id: .salesforce, name: "Salesforce", kind: .service, category: "Cloud",
        names: ["salesforce.com", "force.com", "salesforceliveagent.com", "sfdcstatic.com",
                "salesforce-communities.com", "exacttarget.com", "visualforce.com", "lightning.force.com"])
}
