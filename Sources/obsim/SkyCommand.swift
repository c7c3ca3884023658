import ArgumentParser
import Foundation
import Observatory
import ScenarioKit

struct Sky: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sun position, twilight times and twilight sky background.",
        subcommands: [SkySun.self, SkyTwilight.self, SkyBackground.self]
    )
}

/// `--site NAME` or `--lat/--lon/--height`, never both.
struct SiteOptions: ParsableArguments {
    @Option(help: "Built-in site: \(Site.builtInNames.joined(separator: ", ")), or an alias: \(BuiltInSites.aliases.keys.sorted().joined(separator: ", ")).") var site: String?
    @Option(parsing: .unconditional, help: "Latitude, degrees north (-90 to 90); with --lon and --height instead of --site.", transform: Parse.double(min: -90, max: 90)) var lat: Double?
    @Option(parsing: .unconditional, help: "Longitude, degrees east (-180 to 360; Chile is negative).", transform: Parse.double(min: -180, max: 360)) var lon: Double?
    @Option(parsing: .unconditional, help: "Height above sea level, metres (-500 to 9000).", transform: Parse.double(min: -500, max: 9000)) var height: Double?

    func resolve() throws -> Site {
        let coordinates = [lat, lon, height].compactMap { $0 }.count
        if let name = site {
            if coordinates > 0 {
                throw ValidationError("--site '\(name)' cannot be combined with --lat/--lon/--height; give one or the other")
            }
            do { return try Site.named(Parse.siteName(name)) } catch {
                throw ValidationError("--site '\(name)' is unknown; allowed: \((Site.builtInNames + BuiltInSites.aliases.keys.sorted()).joined(separator: ", "))")
            }
        }
        guard let lat, let lon, let height else {
            throw ValidationError("give --site NAME (\(Site.builtInNames.joined(separator: ", "))) or all of --lat, --lon and --height")
        }
        let result = Result { () throws(SkyError) -> Site in
            try Site(latitudeDegrees: lat, longitudeDegrees: lon, heightMetres: height)
        }
        switch result {
        case .success(let site): return site
        case .failure(let error):
            guard case let .invalid(field, value, allowed) = error else { throw ValidationError(error.description) }
            let option = field == "latitude" ? "--lat" : field == "longitude" ? "--lon" : "--height"
            throw ValidationError("\(option) \(value) is out of range; allowed: \(allowed)")
        }
    }
}

private func siteFields(_ site: Site) -> [(String, JSONLine.Value)] {
    [("site", .string(site.name)), ("latitude_deg", .double(site.latitudeDegrees)),
     ("longitude_deg", .double(site.longitudeDegrees)), ("height_m", .double(site.heightMetres))]
}

struct SkySun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sun",
        abstract: "Topocentric altitude and azimuth of the Sun's centre (NREL SPA).",
        discussion: """
        Geometric (airless) altitude and azimuth (from north through east) of the Sun's centre, from the NREL \
        Solar Position Algorithm (Reda & Andreas 2004), ΔT = \(SolarPositionAlgorithm.defaultDeltaTSeconds) s. \
        The refracted altitude uses SPA's refraction formula at the site's typical pressure and temperature.
        Example:
          obsim sky sun --site cerro-pachon --utc 2026-03-01T23:30:00Z --json
        """
    )

    @OptionGroup var siteOptions: SiteOptions
    @Option(help: "UTC instant, ISO 8601 (e.g. 2026-03-01T23:30:00Z; an explicit ±hh:mm offset is honoured).")
    var utc: String
    @Option(name: .customLong("delta-t"), parsing: .unconditional, help: "ΔT = TT − UT1, seconds (0 to 200).", transform: Parse.double(min: 0, max: 200))
    var deltaT: Double = SolarPositionAlgorithm.defaultDeltaTSeconds
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        if UTCTime.parseISO8601(utc) == nil {
            throw ValidationError("--utc '\(utc)' is not an ISO 8601 instant; expected YYYY-MM-DDTHH:MM[:SS[.s]][Z|±HH:MM]")
        }
        if !(0...200).contains(deltaT) { throw ValidationError("--delta-t \(deltaT) is out of range; allowed: 0 to 200 s") }
        _ = try siteOptions.resolve()
    }

    func run() throws {
        let site = try siteOptions.resolve()
        guard let t = UTCTime.parseISO8601(utc) else { throw ValidationError("--utc '\(utc)' is not an ISO 8601 instant") }
        let p = SolarPositionAlgorithm(deltaTSeconds: deltaT).position(site: site, utcSeconds: t)
        let refracted = Refraction.apparentAltitudeDegrees(geometric: p.altitudeDegrees, site: site)
        let airmass = refracted > 0 ? try? Airmass.airmass(altitudeDegrees: refracted) : nil
        if json {
            print(JSONLine([("utc", .string(UTCTime.iso8601(utcSeconds: t))),
                            ("altitude_deg", .double(p.altitudeDegrees)), ("azimuth_deg", .double(p.azimuthDegrees)),
                            ("zenith_distance_deg", .double(p.zenithDistanceDegrees)),
                            ("refracted_altitude_deg", .double(refracted)),
                            ("hour_angle_deg", .double(p.hourAngleDegrees)),
                            ("declination_deg", .double(p.declinationDegrees)),
                            ("right_ascension_deg", .double(p.rightAscensionDegrees)),
                            ("distance_au", .double(p.distanceAU)),
                            ("airmass_kasten_young", airmass.map { .double($0) } ?? .double(.nan)),
                            ("delta_t_s", .double(deltaT))] + siteFields(site)).text)
        } else {
            print("Sun at \(site.name) (\(String(format: "%.4f°, %.4f°, %.0f m", site.latitudeDegrees, site.longitudeDegrees, site.heightMetres)))")
            print("  UTC              \(UTCTime.iso8601(utcSeconds: t))")
            print("  local mean time  \(UTCTime.iso8601(utcSeconds: t, offsetSeconds: site.localMeanTimeOffsetSeconds, suffix: " LMT"))")
            print(String(format: "  altitude         %9.4f°  (geometric; refracted %.4f°)", p.altitudeDegrees, refracted))
            print(String(format: "  azimuth          %9.4f°  (from north through east)", p.azimuthDegrees))
            print(String(format: "  zenith distance  %9.4f°", p.zenithDistanceDegrees))
            print(String(format: "  hour angle       %9.4f°, declination %.4f°", p.hourAngleDegrees, p.declinationDegrees))
            if let airmass { print(String(format: "  airmass          %9.4f   (Kasten & Young 1989)", airmass)) }
        }
    }
}

struct SkyTwilight: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "twilight",
        abstract: "Sunset, civil/nautical/astronomical dusk and dawn, sunrise of one night.",
        discussion: """
        Night D is the first crossing of each altitude after local mean noon of D (12:00 UTC − longitude/15 h), \
        so dawn events fall on the next morning. Geometric altitudes of the Sun's centre: −0.833° (sunset, \
        sunrise), −6° (civil), −12° (nautical), −18° (astronomical). An event that does not happen within 24 h \
        (high latitudes in summer or winter) is shown as "-" (null in JSON).
        Example:
          obsim sky twilight --site cerro-armazones --night 2026-03-01
          obsim sky twilight --lat 69.65 --lon 18.96 --height 0 --night 2026-06-21 --json
        """
    )

    @OptionGroup var siteOptions: SiteOptions
    @Option(help: "Night, YYYY-MM-DD (the evening's local date).") var night: String
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        if UTCTime.parseDate(night) == nil {
            throw ValidationError("--night '\(night)' is not a date; expected YYYY-MM-DD with a valid month and day")
        }
        _ = try siteOptions.resolve()
    }

    func run() throws {
        let site = try siteOptions.resolve()
        guard let date = UTCTime.parseDate(night) else { throw ValidationError("--night '\(night)' is not a date") }
        let result = try SunCrossingFinder().night(site: site, year: date.year, month: date.month, day: date.day)
        if json {
            let events = TwilightEvent.allCases.map { event -> String in
                let value = result[event].map { "\"\(UTCTime.iso8601(utcSeconds: $0))\"" } ?? "null"
                return "\"\(event.rawValue)\": \(value)"
            }.joined(separator: ", ")
            let site = JSONLine(siteFields(site)).text.dropFirst().dropLast()
            print("{\"night\": \"\(result.nightLabel)\", \(site), \"events\": {\(events)}}")
        } else {
            print("Night \(result.nightLabel) at \(site.name) (\(String(format: "%.4f°, %.4f°, %.0f m", site.latitudeDegrees, site.longitudeDegrees, site.heightMetres))); local mean time = UTC \(String(format: "%+.2f", site.localMeanTimeOffsetSeconds / 3600)) h")
            print("  event              Sun alt   UTC                      local mean time")
            for event in TwilightEvent.allCases {
                let label = event.rawValue.replacingOccurrences(of: "_", with: " ")
                let alt = String(format: "%7.3f°", event.altitudeDegrees)
                if let t = result[event] {
                    let utcText = UTCTime.iso8601(utcSeconds: t)
                    let lmt = UTCTime.iso8601(utcSeconds: t, offsetSeconds: site.localMeanTimeOffsetSeconds, suffix: "")
                    print("  \(label.padding(toLength: 18, withPad: " ", startingAt: 0)) \(alt)  \(utcText)    \(lmt)")
                } else {
                    print("  \(label.padding(toLength: 18, withPad: " ", startingAt: 0)) \(alt)  -  (does not happen this night)")
                }
            }
        }
    }
}

struct SkyBackground: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "background",
        abstract: "Sky background in e⁻/s/pixel for a camera, band, Sun altitude and airmass, by origin.",
        discussion: """
        Optical: Patat et al. 2006 twilight fits + Patat 2003 dark-sky floor; thermal IR: Planck emission of the \
        telescope and the sky at the ambient temperature plus a small scattered-sunlight term. Cameras: \
        \(SkyCamera.presets.keys.sorted().joined(separator: ", ")).
        Example:
          obsim sky background --camera metis-img-lm --band "L'" --sun-altitude -5deg --airmass 2
        """
    )

    @Option(help: "Camera preset: \(SkyCamera.presets.keys.sorted().joined(separator: ", ")).") var camera: String
    @Option(help: "Band: \(Band.allCases.map(\.rawValue).joined(separator: ", ")) (L' and M' as the documents write them, LATISS filter names such as SDSSr_65mm).") var band: String
    @Option(name: .customLong("sun-altitude"), parsing: .unconditional, help: "Sun altitude (-90 to 90 deg): -5deg, -5 deg, or degrees as a bare number.",
            transform: Parse.quantity(.angle, unit: "deg", min: -90, max: 90)) var sunAltitude: Double
    @Option(parsing: .unconditional, help: "Airmass of the pointing (1 to 37.9).", transform: Parse.double(min: 1, max: 37.9)) var airmass: Double = 1
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard let cam = SkyCamera.presets[camera] else {
            throw ValidationError("--camera '\(camera)' is unknown; allowed: \(SkyCamera.presets.keys.sorted().joined(separator: ", "))")
        }
        guard let b = Parse.band(band) else {
            throw ValidationError("--band '\(band)' is unknown; allowed: \(Band.allCases.map(\.rawValue).joined(separator: ", ")) (L' and M' for Lp and Mp; LATISS filter names such as SDSSr_65mm)")
        }
        if !cam.bands.contains(b) {
            throw ValidationError("--band '\(band)' is not available on \(camera); allowed: \(cam.bands.map(\.rawValue).joined(separator: ", "))")
        }
        if !(-90...90).contains(sunAltitude) { throw ValidationError("--sun-altitude \(sunAltitude) is out of range; allowed: -90 to 90 degrees") }
        if !(1...37.9).contains(airmass) { throw ValidationError("--airmass \(airmass) is out of range; allowed: 1 to 37.9") }
    }

    func run() throws {
        guard let cam = SkyCamera.presets[camera], let b = Parse.band(band) else { return }
        let model = TwilightSkyModel()
        let r = try model.electronsPerSecondPerPixel(band: b, sunAltitudeDegrees: sunAltitude, airmass: airmass, camera: cam)
        let mu = b.system == .thermalInfrared ? nil : try model.brightness(band: b, sunZenithDegrees: 90 - sunAltitude)
        if json {
            print(JSONLine([("camera", .string(camera)), ("band", .string(b.rawValue)), ("sun_altitude_deg", .double(sunAltitude)),
                            ("airmass", .double(airmass)), ("zenith_mag_arcsec2", .double(mu ?? .nan)),
                            ("total_e_per_s_px", .double(r.total)), ("twilight_e_per_s_px", .double(r.twilight)),
                            ("night_e_per_s_px", .double(r.night)), ("thermal_telescope_e_per_s_px", .double(r.thermalTelescope)),
                            ("thermal_sky_e_per_s_px", .double(r.thermalSky))]).text)
        } else {
            print("\(cam.name), \(b.rawValue), Sun at \(sunAltitude)°, airmass \(airmass)")
            if let mu { print(String(format: "  zenith sky             %10.3f mag/arcsec²", mu)) }
            print(String(format: "  twilight (scattered)   %10.4g e⁻/s/px", r.twilight))
            print(String(format: "  night sky floor        %10.4g e⁻/s/px", r.night))
            print(String(format: "  thermal, telescope     %10.4g e⁻/s/px", r.thermalTelescope))
            print(String(format: "  thermal, sky           %10.4g e⁻/s/px", r.thermalSky))
            print(String(format: "  total                  %10.4g e⁻/s/px", r.total))
        }
    }
}
