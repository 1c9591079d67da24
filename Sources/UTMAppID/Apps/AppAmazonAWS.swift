import UTMCore

/// Amazon Web Services endpoints and CloudFront.
enum AppAmazonAWS {
    static let descriptor = AppDescriptor(
        id: .amazonAWS, name: "AmazonAWS", kind: .service, category: "Cloud",
        names: ["amazonaws.com", "aws.amazon.com", "awsstatic.com", "cloudfront.net", "aws.dev",
                "awsapps.com", "amazonaws.com.cn", "elasticbeanstalk.com", "aws.com", "awstrack.me",
                "amazoncognito.com"])
}
