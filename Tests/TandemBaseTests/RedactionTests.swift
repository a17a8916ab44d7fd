import TandemBase
import Testing

@Suite struct RedactionTests {
  @Test(arguments: [
    (
      "https://b.s3.amazonaws.com/k.tif?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA1%2F2&X-Amz-Signature=abc&x-id=GetObject",
      "https://b.s3.amazonaws.com/k.tif?x-id=GetObject"
    ),
    (
      "https://acct.blob.core.windows.net/c/k.tif?sv=2022-11-02&se=2030-01-01&sr=b&sp=r&sig=SeCrEt%3D",
      "https://acct.blob.core.windows.net/c/k.tif"
    ),
    ("https://user:pw@host/a.tif?token=t&page=2#access_token=x", "https://host/a.tif?page=2"),
    ("https://h/a?my_api_key=1&ClientSecret=2&refresh_token=3&keep=4", "https://h/a?keep=4"),
    ("https://h/a?X-Goog-Signature=1&GoogleAccessId=2", "https://h/a"),
    ("https://maps.h/search?key=AIzaSECRET&limit=10", "https://maps.h/search?limit=10"),
    (
      "https://pc.h/stac/search?subscription-key=PCSECRET&collections=s2",
      "https://pc.h/stac/search?collections=s2"
    ),
    ("/local/path/with?odd#chars.tif", "/local/path/with?odd#chars.tif"),
  ])
  func urls(url: String, expected: String) {
    #expect(Redaction.url(url) == expected)
  }

  @Test func freeTextKeepsTheMessageAndDropsTheSecrets() {
    let text = Redaction.text(
      "GET https://h/a.tif?sig=S1GNATURE&x=1: HTTP 403 (see https://h/b?token=T0KEN).\nAuthorization: Bearer abc.def\nbody {\"token\":\"JS0NTOKEN\",\"limit\":10} password=hunter22 Bearer XYZW"
    )
    for secret in ["S1GNATURE", "T0KEN", "abc.def", "JS0NTOKEN", "hunter22", "XYZW"] {
      #expect(!text.contains(secret), "\(secret) in \(text)")
    }
    #expect(text.contains("GET https://h/a.tif?x=1: HTTP 403 (see https://h/b)."))
    #expect(text.contains("\"limit\":10"))
    #expect(text.contains("Authorization: REDACTED"))
  }

  @Test func ordinaryMessagesAreUntouched() {
    for message in [
      "sentinel-2/B04.tif (IFD 0, tile/strip 3): I/O error: access denied: HTTP 403",
      "catalog.json: features[3].properties.datetime: missing field",
      "refused by the remote-catalog policy: host 'a:1' is not in --allowed-hosts (b)",
      "token expired; key: value; code: 42",
    ] {
      #expect(Redaction.text(message) == message)
    }
  }

  @Test func registeredSecretsAreRemovedAnywhere() {
    Redaction.register(header: "X-Api-Key: QWERTY-REGISTERED-1")
    Redaction.register(header: "Authorization: Basic dXNlcjpwYXNzd29yZA==")
    Redaction.register(header: "Accept: application/json")
    let text = Redaction.text(
      "echo QWERTY-REGISTERED-1 and dXNlcjpwYXNzd29yZA== but application/json stays")
    #expect(!text.contains("QWERTY-REGISTERED-1"))
    #expect(!text.contains("dXNlcjpwYXNzd29yZA=="))
    #expect(text.contains("application/json"))
  }

  @Test func cacheIdentitySeparatesTokensAndIgnoresSignatures() {
    let a = Redaction.cacheIdentity("https://api/items?token=PAGE-A&limit=10")
    let b = Redaction.cacheIdentity("https://api/items?token=PAGE-B&limit=10")
    #expect(a != b)
    #expect(!a.contains("PAGE-A") && !b.contains("PAGE-B"))
    #expect(a == Redaction.cacheIdentity("https://api/items?token=PAGE-A&limit=10#frag"))
    // Re-signing the same object gives the same identity.
    let s1 = Redaction.cacheIdentity(
      "https://b.s3.amazonaws.com/k.tif?X-Amz-Date=1&X-Amz-Signature=AAA&x-id=GetObject")
    let s2 = Redaction.cacheIdentity(
      "https://b.s3.amazonaws.com/k.tif?X-Amz-Date=2&X-Amz-Signature=BBB&x-id=GetObject")
    #expect(s1 == s2)
    #expect(s1 == "https://b.s3.amazonaws.com/k.tif?x-id=GetObject")
    let sas1 = Redaction.cacheIdentity("https://a.blob.core.windows.net/c/k.tif?sv=1&se=2&sig=X")
    let sas2 = Redaction.cacheIdentity("https://a.blob.core.windows.net/c/k.tif?sv=1&se=3&sig=Y")
    #expect(sas1 == sas2)
    #expect(Redaction.cacheIdentity("https://u:p@h/a") == "https://h/a")
  }
}
