using System.Text.RegularExpressions;
using Fusion.Tests.Redis.Support;

namespace Fusion.Tests.Distributed.Support;

/// <summary>Counts of the commands a Redis server processed (<c>INFO commandstats</c>), read over a probe connection.</summary>
internal static partial class RedisStats
{
    /// <summary>How many times <paramref name="server"/> ran <paramref name="command"/> (lower case, e.g. "get") so far.</summary>
    public static async Task<long> Calls(RedisServer server, string command)
    {
        var info = await server.SendAsync("INFO", "commandstats") ?? "";
        var match = CommandStat().Matches(info).FirstOrDefault(m => m.Groups["name"].Value == command);
        return match is null ? 0 : long.Parse(match.Groups["calls"].Value);
    }

    [GeneratedRegex(@"cmdstat_(?<name>[a-z|_-]+):calls=(?<calls>\d+)")]
    private static partial Regex CommandStat();
}
