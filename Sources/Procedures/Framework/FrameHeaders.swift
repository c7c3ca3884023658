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
        self.init(name: name, width: window.rect.width, height: window.rect.height,
                  pixels: window.values.map { Float($0) }, header: Self.cards(header, convention: convention))
    }

    /// The FITS cards of an exposure header in the instrument's convention.
    static func cards(_ header: FrameHeader, convention: HeaderConvention) -> [HeaderCard] {
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
        if convention == .eso { cards = Self.esoPipelineCards(cards, detector: header.cards.first { $0.key == "DET NAME" }) }
        return cards
    }

    /// What the METIS pipeline's classification rules read (AstarVienna/METIS_Pipeline
    /// `metisp/workflows/metis/metis_classification.py`: INSTRUME, DPR.CATG, DPR.TYPE, DPR.TECH): INSTRUME
    /// and TELESCOP first ('ESO-ELT' [U], the VLT's 'ESO-VLT-Un' pattern); a template's plain `IMAGE`
    /// technique qualified by the imager it ran on (the rules expect `IMAGE,LM` / `IMAGE,N`); template
    /// values of SEQ and TPL keywords that are numbers written as numbers.
    static func esoPipelineCards(_ cards: [HeaderCard], detector: Observatory.HeaderCard?) -> [HeaderCard] {
        var out: [HeaderCard] = []
        if !cards.contains(where: { $0.keyword == "INSTRUME" }) { out.append(HeaderCard("INSTRUME", .string("METIS"), "instrument")) }
        if !cards.contains(where: { $0.keyword == "TELESCOP" }) { out.append(HeaderCard("TELESCOP", .string("ESO-ELT"), "telescope")) }
        var arm: String?
        if case .string(let name)? = detector?.value {
            arm = name.contains("IMG-LM") ? "LM" : name.contains("IMG-N") ? "N" : nil
        }
        for card in cards {
            if card.keyword == "HIERARCH ESO DPR TECH", card.value == .string("IMAGE"), let arm {
                out.append(HeaderCard(card.keyword, .string("IMAGE," + arm), card.comment))
            } else if card.keyword.hasPrefix("HIERARCH ESO SEQ ") || card.keyword.hasPrefix("HIERARCH ESO TPL N"),
                      case .string(let text) = card.value, let number = Double(text) {
                let value: HeaderValue = number == number.rounded() && !text.contains(".") ? .integer(Int(number)) : .double(number)
                out.append(HeaderCard(card.keyword, value, card.comment))
            } else {
                out.append(card)
            }
        }
        return out
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
