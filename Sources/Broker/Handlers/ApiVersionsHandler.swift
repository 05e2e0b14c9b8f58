import KafkaProtocol

extension RequestDispatcher {
    func apiVersions(_ req: ApiVersionsRequest, _ version: Int16, _ ctx: RequestContext) -> Reply<ApiVersionsResponse> {
        var r = ApiVersionsResponse()
        r.apiKeys = SupportedApis.apiVersions
        return .now(r)
    }
}
