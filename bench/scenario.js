// The benchmark scenario shared by every measurement: 50 mixed flags (on/off, rollouts, rules,
// variants, a prerequisite), as a production snapshot might hold them.
export function fiftyFlags() {
  const flags = [];
  for (let i = 0; i < 50; i++) {
    const f = { key: `flag_${i}`, enabled: i % 10 !== 9, rollout: [100, 0, 0.1, 5, 25, 50, 100, 10][i % 8] };
    if (i % 5 === 1) f.rules = [{ condition: { country: { $in: ["RW", "KE"] } }, rollout: 50 }];
    if (i % 7 === 3) f.rules = [{ condition: { plan: "pro", appVersion: { $vgte: "2.1.0" } }, rollout: 100 }];
    if (i % 6 === 2) f.variants = [{ key: "control", weight: 50 }, { key: "treatment", weight: 50 }];
    if (i === 20) f.adminOverride = "off";
    if (i === 21) f.prerequisites = [{ flag: "flag_0", enabled: true }];
    flags.push(f);
  }
  return { version: "bench", flags };
}

export function thousandFlags() {
  const flags = [];
  for (let i = 0; i < 1000; i++) {
    flags.push({
      key: `flag_${i}`,
      enabled: true,
      rollout: (i * 7) % 101,
      description: `flag number ${i}`,
      rules: i % 3 ? [] : [{ condition: { country: "RW", plan: { $in: ["pro", "team"] } }, rollout: 50 }],
      variants: i % 4 ? [] : [{ key: "a", weight: 50 }, { key: "b", weight: 50 }],
      stages: [1, 5, 25, 50, 100],
    });
  }
  return { version: "bench-1000", flags };
}

export function users(n) {
  const countries = ["RW", "KE", "UG", "TZ", "US"];
  const plans = ["free", "pro", "team"];
  return Array.from({ length: n }, (_, i) => ({
    userId: `user-${i}`,
    country: countries[i % 5],
    plan: plans[i % 3],
    appVersion: `2.${i % 4}.0`,
  }));
}
