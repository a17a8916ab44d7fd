// libFuzzer target: TIFF/BigTIFF header, IFD chain, GeoKeys and GDAL metadata parsing
// (`COGDataset.open`), the COG layout check, then the window planner and the libtiff decode path
// for small windows of every decodable image. Any outcome but a `GeoTIFFError` is a finding.
import GeoTIFF
import RangeIO
import TandemBase

/// Tighter than the defaults so single inputs stay fast; the checks are the same.
let fuzzLimits: ParseLimits = {
  var l = ParseLimits()
  l.maxIFDs = 64
  l.maxBlockBytes = 8 << 20
  l.maxHeaderBytes = 8 << 20
  return l
}()

let decoder = TileDecoder(maxHandles: 4)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTIFF(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = input(data, size)
  runBlocking {
    let source = MemorySource(bytes)
    guard let ds = try? await COGDataset.open(source, headerSize: 1024, limits: fuzzLimits) else {
      return
    }
    _ = ds.georeference.bounds(width: ds.mainImage.width, height: ds.mainImage.height)
    _ = ds.structuralMetadata
    _ = try? await ds.cogLayout()
    for image in ds.images.prefix(4) {
      // At most 4 bands and 128² pixels per window keep one input in the milliseconds.
      let bands = Array(0..<min(image.samplesPerPixel, 4))
      let windows = [
        PixelWindow(x: 0, y: 0, width: min(image.width, 128), height: min(image.height, 128)),
        PixelWindow(x: image.width - 7, y: image.height / 2 - 3, width: 16, height: 9),
      ]
      for window in windows {
        do throws(GeoTIFFError) {
          let plan = try await ds.plan(window: window, bands: bands, image: image)
          let fetched = try await ds.fetch(plan)
          _ = try ds.decode(plan, fetched, using: decoder)
        } catch {
          _ = error.description
        }
      }
    }
  }
  return 0
}
