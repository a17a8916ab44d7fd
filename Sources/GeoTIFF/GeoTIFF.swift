// The GeoTIFF module; see Docs/ARCHITECTURE.md.
public enum GeoTIFFModule {}
