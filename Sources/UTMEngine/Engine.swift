import UTMCore
public enum EnginePlaceholder {}
