using System.IO.Compression;
using System.Xml.Linq;
using Fusion;
using LanguageExt;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace CSharpConsumer;

/// <summary>A new user's app, built from the packed .nupkg files: the packages restore, load and work.</summary>
public sealed class ConsumerTests
{
    [Fact]
    public async Task AMemoryOnlyCache_RunsTheFactoryOnce()
    {
        using var cache = new FusionCacheBuilder().WithDuration(TimeSpan.FromMinutes(1)).Build();
        var calls = 0;

        for (var i = 0; i < 3; i++)
        {
            var result = await cache.GetOrSet("answer", () => { calls++; return Task.FromResult(Either<Err, int>.Right(42)); });
            Assert.Equal(42, result.IfLeft(-1));
        }

        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task ACacheWithRedisThatIsNotThere_StillAnswersFromMemory()
    {
        // A closed port: the Redis package loads and connects in the background; calls never wait for it.
        using var cache = new FusionCacheBuilder().WithRedis("127.0.0.1:1,connectTimeout=200", "consumer").Build();

        var result = await cache.GetOrSet("k", () => Task.FromResult(Either<Err, string>.Right("v")));

        Assert.Equal("v", result.IfLeft(""));
    }

    [Fact]
    public async Task TheHostingPackage_RegistersFusionAsTheApplicationsHybridCache()
    {
        var services = new ServiceCollection();
        services.AddFusionCaching(o => o.Duration = TimeSpan.FromMinutes(1)).AsHybridCache();
        await using var provider = services.BuildServiceProvider();

        var value = await provider.GetRequiredService<HybridCache>().GetOrCreateAsync("k", _ => ValueTask.FromResult(42));

        Assert.Equal(42, value);
        Assert.Equal(42, (await provider.GetRequiredService<FusionCache>().TryGet<int>("k")).IfNone(0));
    }

    [Fact]
    public void TheMemoryOnlyPackage_DoesNotDependOnARedisClient()
    {
        var dependencies = Dependencies("Fusion.Caching");

        Assert.Contains("Fusion.Caching.Core", dependencies);
        Assert.DoesNotContain(dependencies, d => d.StartsWith("StackExchange", StringComparison.Ordinal));
        Assert.Contains("StackExchange.Redis", Dependencies("Fusion.Caching.Redis"));
    }

    [Theory]
    [InlineData("Fusion.Caching.Core")]
    [InlineData("Fusion.Caching")]
    [InlineData("Fusion.Caching.Redis")]
    [InlineData("Fusion.Caching.Hosting")]
    public void EveryPackage_CarriesItsMetadata_AndBothTargets(string id)
    {
        using var package = Open(id);
        var metadata = Nuspec(package).Root!.Elements().First(e => e.Name.LocalName == "metadata");
        string? Field(string name) => metadata.Elements().FirstOrDefault(e => e.Name.LocalName == name)?.Value;

        Assert.Equal("MIT", Field("license"));
        Assert.Equal("PACKAGE.md", Field("readme"));
        Assert.False(string.IsNullOrWhiteSpace(Field("description")));
        Assert.DoesNotContain("Package Description", Field("description"));
        Assert.NotNull(package.GetEntry("PACKAGE.md"));
        var dlls = package.Entries.Where(e => e.FullName.EndsWith(".dll", StringComparison.Ordinal)).Select(e => e.FullName).ToList();
        Assert.Contains(dlls, d => d.StartsWith("lib/net8.0/", StringComparison.Ordinal));
        Assert.Contains(dlls, d => d.StartsWith("lib/net10.0/", StringComparison.Ordinal));
        Assert.Contains(package.Entries, e => e.FullName.EndsWith(".xml", StringComparison.Ordinal)); // XML docs
        Assert.True(File.Exists(PathOf(id).Replace(".nupkg", ".snupkg")), "no symbol package");
    }

    private static string PathOf(string id)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "..", "artifacts", "packages");
        var file = Directory.GetFiles(folder, $"{id}.*.nupkg")
            .Where(f => System.Text.RegularExpressions.Regex.IsMatch(Path.GetFileName(f), $@"^{System.Text.RegularExpressions.Regex.Escape(id)}\.\d"))
            .OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault();
        Assert.True(file is not null, $"no {id} package in {Path.GetFullPath(folder)}");
        return file!;
    }

    private static ZipArchive Open(string id) => ZipFile.OpenRead(PathOf(id));

    private static XDocument Nuspec(ZipArchive package)
    {
        using var stream = package.Entries.First(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
        return XDocument.Load(stream);
    }

    private static List<string> Dependencies(string id)
    {
        using var package = Open(id);
        return Nuspec(package).Descendants().Where(e => e.Name.LocalName == "dependency")
            .Select(e => e.Attribute("id")!.Value).Distinct().ToList();
    }
}
