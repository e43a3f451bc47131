// Fusion demo: what the cache does for you, on the embedded default (memory only, real clock).
// Counts are deterministic; timings (ms) vary from run to run.
//
// Usage:
//   dotnet run --project samples/Demo                        the memory-only scenes (no server needed)
//   dotnet run --project samples/Demo -- --redis             instead, two nodes sharing Redis: the demo starts its own
//                                                            redis-server (on PATH) on a free loopback port, and stops
//                                                            and restarts it to show an outage; it always kills it at the end
//   dotnet run --project samples/Demo -- --redis HOST:PORT   the same two nodes on your Redis (any StackExchange.Redis
//                                                            connection string), without the outage: the demo never stops
//                                                            a server it does not own; its keys expire within a minute
//   dotnet run --project samples/Demo -- --help              this usage
using Demo;

const string Usage = """
    Usage: dotnet run --project samples/Demo [-- OPTIONS]

      (no option)          memory-only scenes: stampede, source outage, slow source, plain error
      --redis              two nodes sharing Redis, on a redis-server the demo starts (redis-server must be on PATH),
                           stops and restarts on a free 127.0.0.1 port, and always kills at the end
      --redis HOST:PORT    the same two nodes on that Redis (a StackExchange.Redis connection string), without the
                           outage part: the demo does not stop a server it does not own
      --help, -h           this text
    """;

string? redis = null;
var redisMode = false;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--help" or "-h":
            Console.WriteLine(Usage);
            return 0;
        case "--redis" when !redisMode:
            redisMode = true;
            if (i + 1 < args.Length && !args[i + 1].StartsWith('-')) redis = args[++i];
            break;
        default:
            Console.Error.WriteLine(redisMode && args[i] == "--redis" ? "--redis is given twice." : $"Unknown option: '{args[i]}'.");
            Console.Error.WriteLine(Usage);
            return 2;
    }
}

if (redisMode)
{
    Scene(redis is null
        ? "Two nodes sharing Redis (L2 + backplane), with a Redis outage and restart"
        : $"Two nodes sharing Redis (L2 + backplane) at {redis}");
    var ok = await RedisScene.Run(redis);
    Console.WriteLine();
    Console.WriteLine(ok ? "Done." : "Failed (see above).");
    return ok ? 0 : 1;
}

Scene("1. Stampede: 1,000 concurrent callers on one cold key");
await StampedeScene.Run();

Scene("2. Source outage: fail-safe serves the last good value, then recovery");
await OutageScene.Run();

Scene("3. Slow source cut by a soft timeout");
await SlowSourceScene.Run();

Scene("4. Plain error: fail-safe off, the source fails");
await ErrorScene.Run();

Console.WriteLine();
Console.WriteLine("Done.");
return 0;

static void Scene(string title)
{
    Console.WriteLine();
    Console.WriteLine(title);
    Console.WriteLine(new string('-', title.Length));
}
