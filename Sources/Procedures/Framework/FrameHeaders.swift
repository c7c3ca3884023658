import Observatory

/// How an instrument spells its FITS header keywords.
public enum HeaderConvention: Sendable {
    /// ESO (METIS): hierarchical keywords become `HIERARCH ESO <key>`; the detector's template-style
    /// `DET1 DIT`/`DET1 NDIT` are written as the FITS keywords `DET DIT`/`DET NDIT`.
    case eso
    /// Rubin (LATISS): flat 8-character keywords (`IMGTYPE`, `EXPTIME`, `FILTER`, `DATE-OBS`,
    /// `DETNAME`, `DETSER`); integration parameters that `EXPTIME` already states are not repeated.
    case rubin
}

extension Frame {
    /// A report frame from one simulated pixel window and its exposure header, in the instrument's
    /// convention. The one place detector headers become FITS cards.
    public init(name: String, window: PixelWindow, header: FrameHeader, convention: HeaderConvention) {
        var cards: [HeaderCard] = []
        for card in header.cards {
            guard let keyword = Self.keyword(card.key, convention) else { continue }
            let value: HeaderValue
            switch card.value {
            case .string(let s): value = .string(s)
            case .int(let i): value = .integer(i)
            case .double(let d): value = .double(d)
            case .bool(let b): value = .bool(b)
            }
            cards.append(HeaderCard(keyword, value, card.comment))
        }
        self.init(name: name, width: window.rect.width, height: window.rect.height,
                  pixels: window.values.map { Float($0) }, header: cards)
    }

    static func keyword(_ key: String, _ convention: HeaderConvention) -> String? {
        switch convention {
        case .eso:
            guard key.contains(" ") else { return key }
            let fitsKey: String
            switch key {
            case "DET1 DIT": fitsKey = "DET DIT"
            case "DET1 NDIT": fitsKey = "DET NDIT"
            case "DET1 NCORRS NAME": fitsKey = "DET NCORRS NAME"
            default: fitsKey = key
            }
            return fitsKey.hasPrefix("HIERARCH ") ? fitsKey : "HIERARCH ESO " + fitsKey
        case .rubin:
            switch key {
            case "DET NAME": return "DETNAME"
            case "DET CHIP ID": return "DETSER"
            case "DET1 DIT", "DET1 NDIT", "DET1 NCORRS NAME": return nil
            default: return key
            }
        }
    }
}
