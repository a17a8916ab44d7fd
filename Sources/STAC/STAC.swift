// The STAC module; see Docs/ARCHITECTURE.md.
public enum STACModule {}
