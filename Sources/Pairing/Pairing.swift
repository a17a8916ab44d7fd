// The Pairing module; see Docs/ARCHITECTURE.md.
public enum PairingModule {}
