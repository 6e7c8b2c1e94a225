import type { IAgentRuntime, Memory, Plugin, Provider, ProviderResult, State } from '@elizaos/core';
import { tests } from './tests';

/** Where the weather comes from and for which place: the plugin's settings, with their defaults. */
export interface WeatherSettings {
  apiUrl: string;
  latitude: number;
  longitude: number;
  place: string;
}

export function weatherSettings(runtime: IAgentRuntime): WeatherSettings {
  const text = (key: string, fallback: string) => {
    const value = runtime.getSetting(key);
    return value === null || value === undefined || String(value).trim() === '' ? fallback : String(value).trim();
  };
  const number = (key: string, fallback: number) => {
    const value = Number(text(key, String(fallback)));
    if (!Number.isFinite(value)) throw new Error(`${key} must be a number, not ${JSON.stringify(runtime.getSetting(key))}`);
    return value;
  };
  return {
    // No trailing slash, so that the path joins with exactly one.
    apiUrl: text('WEATHER_API_URL', 'https://api.open-meteo.com').replace(/\/+$/, ''),
    latitude: number('WEATHER_LATITUDE', 52.52),
    longitude: number('WEATHER_LONGITUDE', 13.41),
    place: text('WEATHER_PLACE', 'Berlin'),
  };
}

export interface CurrentWeather {
  temperature: number;
  temperatureUnit: string;
  windSpeed: number;
  windSpeedUnit: string;
  conditions: string;
  time: string;
}

// WMO weather interpretation codes, as Open-Meteo gives them, grouped as people say them.
const CONDITIONS: Array<[number[], string]> = [
  [[0], 'clear sky'],
  [[1, 2], 'partly cloudy'],
  [[3], 'overcast'],
  [[45, 48], 'fog'],
  [[51, 53, 55, 56, 57], 'drizzle'],
  [[61, 63, 65, 66, 67, 80, 81, 82], 'rain'],
  [[71, 73, 75, 77, 85, 86], 'snow'],
  [[95, 96, 99], 'thunderstorm'],
];

export function describeCode(code: number): string {
  return CONDITIONS.find(([codes]) => codes.includes(code))?.[1] ?? 'unknown conditions';
}

/** The forecast API's address for the current weather at a place. */
export function currentWeatherUrl(apiUrl: string, latitude: number, longitude: number): string {
  return `${apiUrl}/v1/forecast?latitude=${latitude}&longitude=${longitude}&current=temperature_2m,wind_speed_10m,weather_code`;
}

/** Reads the current weather; throws saying what went wrong when the API does not answer with it. */
export async function currentWeather(apiUrl: string, latitude: number, longitude: number): Promise<CurrentWeather> {
  const url = currentWeatherUrl(apiUrl, latitude, longitude);
  const response = await fetch(url, { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`the weather API answered ${response.status} for ${url}`);
  const body = (await response.json()) as {
    current?: { time?: string; temperature_2m?: number; wind_speed_10m?: number; weather_code?: number };
    current_units?: { temperature_2m?: string; wind_speed_10m?: string };
  };
  const current = body.current;
  if (typeof current?.temperature_2m !== 'number' || typeof current.wind_speed_10m !== 'number') {
    throw new Error(`the weather API's answer has no current temperature and wind: ${JSON.stringify(body).slice(0, 200)}`);
  }
  return {
    temperature: current.temperature_2m,
    temperatureUnit: body.current_units?.temperature_2m ?? '°C',
    windSpeed: current.wind_speed_10m,
    windSpeedUnit: body.current_units?.wind_speed_10m ?? 'km/h',
    conditions: describeCode(current.weather_code ?? -1),
    time: current.time ?? '',
  };
}

export const weatherProvider: Provider = {
  name: 'CURRENT_WEATHER',
  description: 'The current weather at the place the agent is set up for',
  // Read only when the planner asks for it: it costs a request to the weather API.
  dynamic: true,
  get: async (runtime: IAgentRuntime, _message: Memory, _state: State): Promise<ProviderResult> => {
    const settings = weatherSettings(runtime);
    try {
      const weather = await currentWeather(settings.apiUrl, settings.latitude, settings.longitude);
      return {
        text: `The weather in ${settings.place}: ${weather.temperature} ${weather.temperatureUnit}, ${weather.conditions}, wind ${weather.windSpeed} ${weather.windSpeedUnit}.`,
        values: {
          weatherPlace: settings.place,
          weatherTemperature: weather.temperature,
          weatherConditions: weather.conditions,
        },
        data: { weather },
      };
    } catch (e) {
      // The agent still answers, without the weather, and says it does not know it.
      runtime.logger?.warn?.(`weather: ${e instanceof Error ? e.message : String(e)}`);
      return {
        text: `The weather in ${settings.place} is not known right now.`,
        values: { weatherPlace: settings.place },
        data: { error: e instanceof Error ? e.message : String(e) },
      };
    }
  },
};

export const weatherPlugin: Plugin = {
  name: 'weather',
  description: "Gives the agent the current weather of a place, read from Open-Meteo's forecast API",
  providers: [weatherProvider],
  tests,
};

export default weatherPlugin;
