using System.Collections.Concurrent;

namespace Fusion;

/// <summary>The caches registered in one container, by options name (the cache's name).</summary>
internal sealed class FusionCacheRegistry
{
    private readonly ConcurrentDictionary<string, string> _names = new(StringComparer.Ordinal);

    public void Add(string name) => _names.TryAdd(name, name);

    public bool Contains(string name) => _names.ContainsKey(name);

    public string CacheName(string name) => name;

    public IReadOnlyCollection<string> Names => _names.Keys.ToArray();
}
