import Foundation

/// A city the simulated world has merchants and customers in.
public struct City: Sendable {
    public let name: String
    /// ISO 3166-1 alpha-2.
    public let country: String
    public let lat: Double
    public let lon: Double
    /// Standard-time offset; DST is ignored so a city's offset never changes mid-run.
    public let utcOffsetMinutes: Int
    /// Relative size: how many customers and merchants live there.
    public let weight: Double
}

public enum Cities {
    /// Sixty cities over every inhabited time zone band, including the half-hour ones.
    public static let all: [City] = [
        City(name: "New York", country: "US", lat: 40.7128, lon: -74.0060, utcOffsetMinutes: -300, weight: 8),
        City(name: "Los Angeles", country: "US", lat: 34.0522, lon: -118.2437, utcOffsetMinutes: -480, weight: 5),
        City(name: "Chicago", country: "US", lat: 41.8781, lon: -87.6298, utcOffsetMinutes: -360, weight: 4),
        City(name: "Houston", country: "US", lat: 29.7604, lon: -95.3698, utcOffsetMinutes: -360, weight: 3),
        City(name: "Miami", country: "US", lat: 25.7617, lon: -80.1918, utcOffsetMinutes: -300, weight: 2),
        City(name: "Seattle", country: "US", lat: 47.6062, lon: -122.3321, utcOffsetMinutes: -480, weight: 2),
        City(name: "Denver", country: "US", lat: 39.7392, lon: -104.9903, utcOffsetMinutes: -420, weight: 2),
        City(name: "Honolulu", country: "US", lat: 21.3069, lon: -157.8583, utcOffsetMinutes: -600, weight: 0.5),
        City(name: "Anchorage", country: "US", lat: 61.2181, lon: -149.9003, utcOffsetMinutes: -540, weight: 0.3),
        City(name: "Toronto", country: "CA", lat: 43.6532, lon: -79.3832, utcOffsetMinutes: -300, weight: 3),
        City(name: "Vancouver", country: "CA", lat: 49.2827, lon: -123.1207, utcOffsetMinutes: -480, weight: 1.5),
        City(name: "Halifax", country: "CA", lat: 44.6488, lon: -63.5752, utcOffsetMinutes: -240, weight: 0.4),
        City(name: "St. John's", country: "CA", lat: 47.5615, lon: -52.7126, utcOffsetMinutes: -210, weight: 0.2),
        City(name: "Mexico City", country: "MX", lat: 19.4326, lon: -99.1332, utcOffsetMinutes: -360, weight: 3),
        City(name: "São Paulo", country: "BR", lat: -23.5505, lon: -46.6333, utcOffsetMinutes: -180, weight: 3),
        City(name: "Rio de Janeiro", country: "BR", lat: -22.9068, lon: -43.1729, utcOffsetMinutes: -180, weight: 1.5),
        City(name: "Buenos Aires", country: "AR", lat: -34.6037, lon: -58.3816, utcOffsetMinutes: -180, weight: 2),
        City(name: "Santiago", country: "CL", lat: -33.4489, lon: -70.6693, utcOffsetMinutes: -240, weight: 1),
        City(name: "Bogotá", country: "CO", lat: 4.7110, lon: -74.0721, utcOffsetMinutes: -300, weight: 1),
        City(name: "Lima", country: "PE", lat: -12.0464, lon: -77.0428, utcOffsetMinutes: -300, weight: 1),
        City(name: "London", country: "GB", lat: 51.5074, lon: -0.1278, utcOffsetMinutes: 0, weight: 6),
        City(name: "Manchester", country: "GB", lat: 53.4808, lon: -2.2426, utcOffsetMinutes: 0, weight: 1.5),
        City(name: "Edinburgh", country: "GB", lat: 55.9533, lon: -3.1883, utcOffsetMinutes: 0, weight: 0.8),
        City(name: "Dublin", country: "IE", lat: 53.3498, lon: -6.2603, utcOffsetMinutes: 0, weight: 1),
        City(name: "Lisbon", country: "PT", lat: 38.7223, lon: -9.1393, utcOffsetMinutes: 0, weight: 1),
        City(name: "Reykjavík", country: "IS", lat: 64.1466, lon: -21.9426, utcOffsetMinutes: 0, weight: 0.2),
        City(name: "Paris", country: "FR", lat: 48.8566, lon: 2.3522, utcOffsetMinutes: 60, weight: 4),
        City(name: "Lyon", country: "FR", lat: 45.7640, lon: 4.8357, utcOffsetMinutes: 60, weight: 1),
        City(name: "Berlin", country: "DE", lat: 52.5200, lon: 13.4050, utcOffsetMinutes: 60, weight: 3),
        City(name: "Munich", country: "DE", lat: 48.1351, lon: 11.5820, utcOffsetMinutes: 60, weight: 2),
        City(name: "Frankfurt", country: "DE", lat: 50.1109, lon: 8.6821, utcOffsetMinutes: 60, weight: 1.5),
        City(name: "Madrid", country: "ES", lat: 40.4168, lon: -3.7038, utcOffsetMinutes: 60, weight: 2.5),
        City(name: "Barcelona", country: "ES", lat: 41.3874, lon: 2.1686, utcOffsetMinutes: 60, weight: 2),
        City(name: "Rome", country: "IT", lat: 41.9028, lon: 12.4964, utcOffsetMinutes: 60, weight: 2),
        City(name: "Milan", country: "IT", lat: 45.4642, lon: 9.1900, utcOffsetMinutes: 60, weight: 2),
        City(name: "Amsterdam", country: "NL", lat: 52.3676, lon: 4.9041, utcOffsetMinutes: 60, weight: 1.5),
        City(name: "Brussels", country: "BE", lat: 50.8503, lon: 4.3517, utcOffsetMinutes: 60, weight: 1),
        City(name: "Zurich", country: "CH", lat: 47.3769, lon: 8.5417, utcOffsetMinutes: 60, weight: 1),
        City(name: "Vienna", country: "AT", lat: 48.2082, lon: 16.3738, utcOffsetMinutes: 60, weight: 1),
        City(name: "Stockholm", country: "SE", lat: 59.3293, lon: 18.0686, utcOffsetMinutes: 60, weight: 1),
        City(name: "Warsaw", country: "PL", lat: 52.2297, lon: 21.0122, utcOffsetMinutes: 60, weight: 1.5),
        City(name: "Athens", country: "GR", lat: 37.9838, lon: 23.7275, utcOffsetMinutes: 120, weight: 1),
        City(name: "Helsinki", country: "FI", lat: 60.1699, lon: 24.9384, utcOffsetMinutes: 120, weight: 0.7),
        City(name: "Cairo", country: "EG", lat: 30.0444, lon: 31.2357, utcOffsetMinutes: 120, weight: 2),
        City(name: "Johannesburg", country: "ZA", lat: -26.2041, lon: 28.0473, utcOffsetMinutes: 120, weight: 1.5),
        City(name: "Lagos", country: "NG", lat: 6.5244, lon: 3.3792, utcOffsetMinutes: 60, weight: 1.5),
        City(name: "Nairobi", country: "KE", lat: -1.2921, lon: 36.8219, utcOffsetMinutes: 180, weight: 1),
        City(name: "Istanbul", country: "TR", lat: 41.0082, lon: 28.9784, utcOffsetMinutes: 180, weight: 2.5),
        City(name: "Moscow", country: "RU", lat: 55.7558, lon: 37.6173, utcOffsetMinutes: 180, weight: 2),
        City(name: "Tehran", country: "IR", lat: 35.6892, lon: 51.3890, utcOffsetMinutes: 210, weight: 0.8),
        City(name: "Dubai", country: "AE", lat: 25.2048, lon: 55.2708, utcOffsetMinutes: 240, weight: 1.5),
        City(name: "Karachi", country: "PK", lat: 24.8607, lon: 67.0011, utcOffsetMinutes: 300, weight: 1),
        City(name: "Mumbai", country: "IN", lat: 19.0760, lon: 72.8777, utcOffsetMinutes: 330, weight: 3),
        City(name: "Delhi", country: "IN", lat: 28.7041, lon: 77.1025, utcOffsetMinutes: 330, weight: 3),
        City(name: "Bangalore", country: "IN", lat: 12.9716, lon: 77.5946, utcOffsetMinutes: 330, weight: 2),
        City(name: "Kathmandu", country: "NP", lat: 27.7172, lon: 85.3240, utcOffsetMinutes: 345, weight: 0.3),
        City(name: "Dhaka", country: "BD", lat: 23.8103, lon: 90.4125, utcOffsetMinutes: 360, weight: 1),
        City(name: "Bangkok", country: "TH", lat: 13.7563, lon: 100.5018, utcOffsetMinutes: 420, weight: 1.5),
        City(name: "Jakarta", country: "ID", lat: -6.2088, lon: 106.8456, utcOffsetMinutes: 420, weight: 1.5),
        City(name: "Singapore", country: "SG", lat: 1.3521, lon: 103.8198, utcOffsetMinutes: 480, weight: 2),
        City(name: "Hong Kong", country: "HK", lat: 22.3193, lon: 114.1694, utcOffsetMinutes: 480, weight: 2),
        City(name: "Shanghai", country: "CN", lat: 31.2304, lon: 121.4737, utcOffsetMinutes: 480, weight: 2.5),
        City(name: "Perth", country: "AU", lat: -31.9505, lon: 115.8605, utcOffsetMinutes: 480, weight: 0.6),
        City(name: "Seoul", country: "KR", lat: 37.5665, lon: 126.9780, utcOffsetMinutes: 540, weight: 2),
        City(name: "Tokyo", country: "JP", lat: 35.6762, lon: 139.6503, utcOffsetMinutes: 540, weight: 4),
        City(name: "Osaka", country: "JP", lat: 34.6937, lon: 135.5023, utcOffsetMinutes: 540, weight: 1.5),
        City(name: "Adelaide", country: "AU", lat: -34.9285, lon: 138.6007, utcOffsetMinutes: 570, weight: 0.4),
        City(name: "Sydney", country: "AU", lat: -33.8688, lon: 151.2093, utcOffsetMinutes: 600, weight: 2),
        City(name: "Melbourne", country: "AU", lat: -37.8136, lon: 144.9631, utcOffsetMinutes: 600, weight: 1.5),
        City(name: "Auckland", country: "NZ", lat: -36.8485, lon: 174.7633, utcOffsetMinutes: 720, weight: 0.8),
    ]
}

/// The currency a country's cards bill in, and roughly how many units make a US dollar (so a
/// Tokyo grocery run reads as thousands of yen, not as dollars with a yen label).
public enum Currencies {
    public struct Info: Sendable {
        public let code: String
        public let unitsPerUSD: Double
        /// Minor-unit digits: yen and won have none.
        public let decimals: Int
    }

    static let table: [String: Info] = [
        "US": Info(code: "USD", unitsPerUSD: 1, decimals: 2),
        "CA": Info(code: "CAD", unitsPerUSD: 1.35, decimals: 2),
        "MX": Info(code: "MXN", unitsPerUSD: 17, decimals: 2),
        "BR": Info(code: "BRL", unitsPerUSD: 5, decimals: 2),
        "GB": Info(code: "GBP", unitsPerUSD: 0.79, decimals: 2),
        "JP": Info(code: "JPY", unitsPerUSD: 150, decimals: 0),
        "KR": Info(code: "KRW", unitsPerUSD: 1300, decimals: 0),
        "IN": Info(code: "INR", unitsPerUSD: 83, decimals: 2),
        "CN": Info(code: "CNY", unitsPerUSD: 7.2, decimals: 2),
        "AU": Info(code: "AUD", unitsPerUSD: 1.5, decimals: 2),
        "NZ": Info(code: "NZD", unitsPerUSD: 1.6, decimals: 2),
        "CH": Info(code: "CHF", unitsPerUSD: 0.88, decimals: 2),
        "SE": Info(code: "SEK", unitsPerUSD: 10.5, decimals: 2),
        "PL": Info(code: "PLN", unitsPerUSD: 4, decimals: 2),
        "SG": Info(code: "SGD", unitsPerUSD: 1.34, decimals: 2),
        "HK": Info(code: "HKD", unitsPerUSD: 7.8, decimals: 2),
        "AE": Info(code: "AED", unitsPerUSD: 3.67, decimals: 2),
        "ZA": Info(code: "ZAR", unitsPerUSD: 18.5, decimals: 2),
        "TR": Info(code: "TRY", unitsPerUSD: 32, decimals: 2),
    ]
    static let eurozone: Set<String> = ["IE", "PT", "FR", "DE", "ES", "IT", "NL", "BE", "AT", "FI", "GR"]
    static let usd = Info(code: "USD", unitsPerUSD: 1, decimals: 2)
    static let eur = Info(code: "EUR", unitsPerUSD: 0.92, decimals: 2)

    /// The country's currency; USD for countries outside the small table.
    public static func of(country: String) -> Info {
        if let i = table[country] { return i }
        return eurozone.contains(country) ? eur : usd
    }
}

/// Great-circle distance in kilometres (haversine, mean Earth radius).
public func greatCircleKm(lat1: Double, lon1: Double, lat2: Double, lon2: Double) -> Double {
    let r = 6371.0088
    let toRad = Double.pi / 180
    let dLat = (lat2 - lat1) * toRad
    let dLon = (lon2 - lon1) * toRad
    let a = sin(dLat / 2) * sin(dLat / 2) + cos(lat1 * toRad) * cos(lat2 * toRad) * sin(dLon / 2) * sin(dLon / 2)
    return 2 * r * asin(min(1, a.squareRoot()))
}
