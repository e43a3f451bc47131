// One Fusion node in a process of its own, for the multi-process tests. It builds a cache on the Redis
// given on the command line and answers one line per command read from stdin:
//   set <key> <value>   -> "ok" once Set returned (L2 written, notification sent)
//   get <key>           -> "value <v>" or "none" (TryGet<string>: L1, then L2)
//   quit                -> exits
// Anything else gets "error <what>". It prints "ready <ms>" once the cache is built, with how long Build() took.
using System.Diagnostics;
using Fusion;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: Fusion.NodeProcess <redis connection string> <cache name>");
    return 2;
}

var clock = Stopwatch.StartNew();
using var cache = new FusionCacheBuilder()
    .WithRedis(args[0], args[1])
    .WithDuration(TimeSpan.FromMinutes(5))
    .Build();
Console.WriteLine($"ready {clock.ElapsedMilliseconds}");

while (Console.ReadLine() is { } line)
{
    var parts = line.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
    switch (parts)
    {
        case ["set", var key, var value]:
            await cache.Set(key, value);
            Console.WriteLine("ok");
            break;
        case ["get", var key]:
            var found = await cache.TryGet<string>(key);
            Console.WriteLine(found.Match(Some: v => "value " + v, None: () => "none"));
            break;
        case ["quit"]:
            return 0;
        default:
            Console.WriteLine("error unknown command: " + line);
            break;
    }
}
return 0; // stdin closed: the test process is gone
