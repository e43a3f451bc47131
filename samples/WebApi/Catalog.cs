namespace Fusion.Samples.WebApi;

/// <summary>A product as the API returns it.</summary>
public sealed record Product(int Id, string Name, decimal Price);

/// <summary>The slow, sometimes failing source the cache sits in front of (a database or a remote API in a real app).</summary>
public sealed class Catalog
{
    private int _reads;

    /// <summary>How many times the source was read (the sample's /stats shows it).</summary>
    public int Reads => Volatile.Read(ref _reads);

    /// <summary>While true, every read fails: fail-safe then serves the last good value.</summary>
    public bool Down { get; set; }

    public async Task<Product> Load(int id, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _reads);
        await Task.Delay(50, cancellationToken);
        if (Down) throw new InvalidOperationException("the catalog database is down");
        return new Product(id, $"Product {id}", 10m + id);
    }
}
