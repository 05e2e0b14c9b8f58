/// Merchant categories (MCC-like), with what a typical purchase there costs.
public enum MerchantCategory: Int, CaseIterable, Sendable {
    case grocery, fuel, restaurant, retail, online, travel, airline, hotel, pharmacy, entertainment, utilities,
         electronics, jewellery, giftCards, atm

    public var name: String {
        switch self {
        case .grocery: "grocery"
        case .fuel: "fuel"
        case .restaurant: "restaurant"
        case .retail: "retail"
        case .online: "online"
        case .travel: "travel"
        case .airline: "airline"
        case .hotel: "hotel"
        case .pharmacy: "pharmacy"
        case .entertainment: "entertainment"
        case .utilities: "utilities"
        case .electronics: "electronics"
        case .jewellery: "jewellery"
        case .giftCards: "gift-cards"
        case .atm: "atm"
        }
    }

    public init?(name: String) {
        guard let c = MerchantCategory.allCases.first(where: { $0.name == name }) else { return nil }
        self = c
    }

    /// Median purchase in USD and the lognormal spread around it.
    var medianUSD: Double {
        switch self {
        case .grocery: 42
        case .fuel: 50
        case .restaurant: 32
        case .retail: 58
        case .online: 45
        case .travel: 280
        case .airline: 420
        case .hotel: 230
        case .pharmacy: 22
        case .entertainment: 38
        case .utilities: 85
        case .electronics: 240
        case .jewellery: 480
        case .giftCards: 50
        case .atm: 120
        }
    }

    var sigma: Double {
        switch self {
        case .fuel, .utilities: 0.35
        case .grocery, .restaurant, .pharmacy, .giftCards, .atm: 0.5
        case .entertainment, .hotel, .airline: 0.6
        case .retail, .travel: 0.7
        case .online, .electronics, .jewellery: 0.8
        }
    }

    /// How many merchants of the category a city of weight 1 has (more grocers than jewellers).
    var merchantShare: Double {
        switch self {
        case .grocery, .restaurant, .retail: 5
        case .fuel, .online, .pharmacy, .entertainment: 3
        case .atm: 4
        case .electronics, .hotel, .travel: 1.5
        case .airline, .utilities, .jewellery, .giftCards: 0.7
        }
    }

    /// Categories a customer's everyday spending is drawn from (the preferred 2–4 come from here).
    static let everyday: [MerchantCategory] = [.grocery, .fuel, .restaurant, .retail, .online, .pharmacy,
                                               .entertainment, .utilities, .electronics, .atm]
    /// What a legitimate traveller spends on away from home, besides their usual categories.
    static let travelling: [MerchantCategory] = [.hotel, .restaurant, .travel, .airline]
    /// The categories fraudsters cash out in: resellable goods and stored value.
    static let cashOut: [MerchantCategory] = [.jewellery, .electronics, .giftCards]
}

/// The payment channels of PRODUCT.md.
public enum Channel: UInt8, Sendable {
    case pos, ecommerce, mobile, atm

    public var name: String {
        switch self {
        case .pos: "pos"
        case .ecommerce: "ecommerce"
        case .mobile: "mobile"
        case .atm: "atm"
        }
    }
}
