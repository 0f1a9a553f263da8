// Closed-model load for the load-path benchmarks: VUS virtual users (default 20)
// send GET requests to BASE_URL back to back for DURATION (default 10s).
// No checks, thresholds or custom metrics, so every iteration produces the same
// 13 points: 9 HTTP request metrics plus iterations, iteration_duration,
// data_sent and data_received.
import http from 'k6/http';

const vus = Number(__ENV.VUS || 20);

export const options = {
  scenarios: {
    load: {
      executor: 'constant-vus',
      vus,
      duration: __ENV.DURATION || '10s',
      gracefulStop: '5s',
    },
  },
};

export default function () {
  http.get(`${__ENV.BASE_URL}/load`, { tags: { name: 'load' } });
}
