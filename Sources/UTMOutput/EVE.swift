import UTMCore
public enum OutputPlaceholder {}
