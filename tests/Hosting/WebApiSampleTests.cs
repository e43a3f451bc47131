using System.Net;
using System.Net.Http.Json;
using Fusion.Samples.WebApi;
using SampleProduct = Fusion.Samples.WebApi.Product;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Fusion.Tests.Hosting;

/// <summary>The sample web API (samples/WebApi), started on a loopback port and called over HTTP: DI and options from its
/// appsettings, single flight, fail-safe while its source is down, the HybridCache face, health checks.</summary>
public sealed class WebApiSampleTests
{
    [Fact]
    public async Task TheSample_CachesFailsSafeAndReportsItsHealth_OverHttp()
    {
        await using var app = SampleApp.Build(["--urls", "http://127.0.0.1:0", "--environment", "Development"]);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        using var http = new HttpClient { BaseAddress = new Uri(address) };

        var first = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => http.GetFromJsonAsync<SampleProduct>("/products/7")));
        Assert.All(first, p => Assert.Equal(new SampleProduct(7, "Product 7", 17m), p));
        Assert.Equal(1, await Reads(http)); // 20 concurrent requests, one read of the source

        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync("/products")).StatusCode); // stale, still fallbacks
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsync("/catalog/down", null)).StatusCode);
        Assert.Equal(new SampleProduct(7, "Product 7", 17m), await http.GetFromJsonAsync<SampleProduct>("/products/7")); // fail-safe
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync("/products/8")).StatusCode); // nothing to fall back on

        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsync("/catalog/up", null)).StatusCode);
        Assert.Equal(18m, await http.GetFromJsonAsync<decimal>("/prices/8")); // through HybridCache
        var health = await http.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("Healthy", await health.Content.ReadAsStringAsync());
        // OpenTelemetry, as the sample wires it, saw Fusion's spans (a miss is a span; a fresh hit is not).
        lock (SampleApp.Spans) Assert.Contains(SampleApp.Spans, span => span.Source.Name == FusionCacheTelemetry.ActivitySourceName);
        await app.StopAsync();
    }

    private static async Task<int> Reads(HttpClient http) =>
        (await http.GetFromJsonAsync<System.Text.Json.JsonElement>("/stats")).GetProperty("reads").GetInt32();
}
