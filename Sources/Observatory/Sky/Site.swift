import Foundation

/// An observing site on the WGS84-like Earth model the NREL SPA uses (Reda & Andreas 2004, §3.10).
public struct Site: Sendable, Hashable {
    public let name: String
    /// Geodetic latitude, degrees, north positive.
    public let latitudeDegrees: Double
    /// Longitude, degrees, east positive (Chilean sites are negative).
    public let longitudeDegrees: Double
    /// Height above sea level, metres.
    public let heightMetres: Double
    /// Typical ambient temperature, °C: only refraction and the thermal-infrared background use it.
    public let ambientCelsius: Double
    /// Typical surface pressure, millibar: only refraction uses it.
    public let pressureMillibar: Double

    public init(name: String = "custom", latitudeDegrees: Double, longitudeDegrees: Double, heightMetres: Double,
                ambientCelsius: Double? = nil, pressureMillibar: Double? = nil) throws(SkyError) {
        guard latitudeDegrees.isFinite, (-90...90).contains(latitudeDegrees) else {
            throw .invalid(field: "latitude", value: "\(latitudeDegrees)", allowed: "-90 to 90 degrees")
        }
        guard longitudeDegrees.isFinite, (-180...360).contains(longitudeDegrees) else {
            throw .invalid(field: "longitude", value: "\(longitudeDegrees)", allowed: "-180 to 360 degrees, east positive")
        }
        guard heightMetres.isFinite, (-500...9000).contains(heightMetres) else {
            throw .invalid(field: "height", value: "\(heightMetres)", allowed: "-500 to 9000 metres")
        }
        self.name = name
        self.latitudeDegrees = latitudeDegrees
        self.longitudeDegrees = longitudeDegrees > 180 ? longitudeDegrees - 360 : longitudeDegrees
        self.heightMetres = heightMetres
        // [U] our choice: 10 °C when the site has no documented value.
        self.ambientCelsius = ambientCelsius ?? 10
        // ISO 2533 standard atmosphere, troposphere: p = 1013.25·(1 − 2.25577e-5·h)^5.25588 mbar.
        self.pressureMillibar = pressureMillibar ?? 1013.25 * pow(1 - 2.25577e-5 * heightMetres, 5.25588)
    }

    /// Built-in sites by name (issue 3 coordinates; REFERENCES.md §7 for the Armazones climate).
    public static let builtIn: [String: Site] = [
        // AuxTel on Cerro Pachón (issue 3; REFERENCES §7 scheduler obs_site: −30.2447, −70.7477, 2663 m).
        "cerro-pachon": try! Site(name: "cerro-pachon", latitudeDegrees: -30.2446, longitudeDegrees: -70.7494,
                                  heightMetres: 2663),
        // ELT; ambient 7 °C and 755 mbar from irdb Armazones.yaml (REFERENCES §7).
        "cerro-armazones": try! Site(name: "cerro-armazones", latitudeDegrees: -24.5893, longitudeDegrees: -70.1922,
                                     heightMetres: 3046, ambientCelsius: 7, pressureMillibar: 755),
        "paranal": try! Site(name: "paranal", latitudeDegrees: -24.6272, longitudeDegrees: -70.4042, heightMetres: 2635),
    ]

    public static var builtInNames: [String] { builtIn.keys.sorted() }

    /// A built-in site; an unknown name is an error listing the known ones.
    public static func named(_ name: String) throws(SkyError) -> Site {
        guard let site = builtIn[name.lowercased()] else {
            throw .invalid(field: "site", value: name, allowed: builtInNames.joined(separator: ", "))
        }
        return site
    }

    /// Offset of local mean time from UTC, seconds (longitude / 15° per hour).
    public var localMeanTimeOffsetSeconds: Double { longitudeDegrees / 15 * 3600 }
}

/// Errors of the Sky models: each names the field, the value given and what is allowed.
public enum SkyError: Error, Equatable, CustomStringConvertible {
    case invalid(field: String, value: String, allowed: String)
    case numerical(String)

    public var description: String {
        switch self {
        case let .invalid(field, value, allowed): return "\(field): '\(value)' is not allowed; allowed: \(allowed)"
        case let .numerical(what): return "numerical failure: \(what)"
        }
    }
}
